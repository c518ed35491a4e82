"""A send whose socket dies before the ack: resent with the same client_id, stored once."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio.testing

from utd_trio import ChatMessage, Connected, ErrorCode, MessageReceived, UTDStreamError
from utd_trio.testing import Engine, EngineState, Session

from ._helpers import Creds, peers, raw_request, raw_socket, stored, wrap_ws_handler

pytestmark = pytest.mark.both_loops


async def test_ack_lost_after_store_resend_returns_same_message(
    utd_engine: Engine, creds: Creds
) -> None:
    stored_once = anyio.Event()

    async def lose_the_ack(state: EngineState, session: Session, ack: dict[str, Any]) -> None:
        if session.user_id == "alice" and not stored_once.is_set():
            session.stall()  # the ack is queued behind the stall and never goes out
            stored_once.set()

    wrap_ws_handler(utd_engine, "message.send", lose_the_ack)
    result: list[ChatMessage] = []
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):

            async def send() -> None:
                result.append(await alice.sig.send_message(to="bob", text="exactly once"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(send)
                await stored_once.wait()
                got = await bob.next(MessageReceived)  # the engine stored and fanned it out
                assert stored(utd_engine, "dm:alice:bob") == ["exactly once"]
                await utd_engine.drop_sockets("alice", code=None)  # held ack discarded
            assert result[0].id == got.message.id
            assert result[0].client_id == got.message.client_id
            assert alice.sig.reconnects == 1
            assert stored(utd_engine, "dm:alice:bob") == ["exactly once"]
            await bob.assert_quiet(MessageReceived)
            after = await alice.sig.send_message(to="bob", text="next")
            assert after.seq == 2


async def test_send_lost_before_store_is_sent_again_once(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            utd_engine.stall_sockets("alice")  # the request waits unprocessed in the engine
            result: list[ChatMessage] = []

            async def send() -> None:
                result.append(await alice.sig.send_message(to="bob", text="once"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(send)
                await anyio.wait_all_tasks_blocked()
                assert stored(utd_engine, "dm:alice:bob") == []
                await utd_engine.drop_sockets("alice", code=None)
            assert (await bob.next(MessageReceived)).message.id == result[0].id
            assert stored(utd_engine, "dm:alice:bob") == ["once"]
            await bob.assert_quiet(MessageReceived)


async def test_send_while_reconnecting_waits_for_the_next_connection(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            utd_engine.fail_next_mints(2, 503)
            await utd_engine.drop_sockets("alice", code=1011)
            sent = await alice.sig.send_message(to="bob", text="after the gap")
            assert alice.sig.generation >= 2
            assert (await bob.next(MessageReceived)).message.id == sent.id
            await alice.next(Connected)


async def test_engine_reused_client_id_returns_original(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with raw_socket(utd_engine, "alice") as ws:
            data = {"client_id": "c-1", "to": "bob", "text": "first"}
            first = await raw_request(ws, "message.send", data)
            again = await raw_request(ws, "message.send", {**data, "text": "changed"})
            invalid = await raw_request(ws, "message.send", {"client_id": "c-1", "to": "bob"})
            assert first["event"] == again["event"] == invalid["event"] == "ack"
            assert first["data"] == again["data"] == invalid["data"]
            assert first["data"]["text"] == "first"
            assert stored(utd_engine, "dm:alice:bob") == ["first"]
            # Idempotency is per sender: bob may use the same client_id.
        async with raw_socket(utd_engine, "bob") as ws:
            reply = await raw_request(
                ws, "message.send", {"client_id": "c-1", "to": "alice", "text": "x"}
            )
            assert reply["data"]["seq"] == 2


async def test_send_while_disconnected_too_long_times_out_cleanly(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(120):
        async with peers(utd_engine, creds, "alice", "bob", request_timeout=2.0) as (alice, bob):
            utd_engine.fail_next_mints(10_000, 503)
            await utd_engine.drop_sockets("alice", code=1011)
            with pytest.raises(UTDStreamError) as info:
                await alice.sig.send_message(to="bob", text="never")
            assert info.value.code is ErrorCode.TIMEOUT
            assert stored(utd_engine, "dm:alice:bob") == []
            utd_engine.state.mint_failures.clear()
            await alice.next(Connected)
            sent = await alice.sig.send_message(to="bob", text="later")
            assert (await bob.next(MessageReceived)).message.id == sent.id
            assert stored(utd_engine, "dm:alice:bob") == ["later"]
