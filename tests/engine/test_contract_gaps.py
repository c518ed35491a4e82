"""Contract gaps found from outside (issue 13): ref-less requests and ``client_id``-less sends."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from utd_trio.testing import Engine

from ._helpers import TIMEOUT, connect, recv, send


@pytest.mark.parametrize(
    "frame",
    [
        {"event": "typing", "data": {"to": "bob", "is_typing": True}},
        {"event": "typing", "data": {"to": "bob", "is_typing": True}, "ref": None},
        {"event": "typing", "data": {"to": "bob", "is_typing": True}, "ref": ""},
        {"event": "presence.subscribe", "data": {"user_ids": ["bob"]}},
        {"event": "no.such_event"},
    ],
)
async def test_a_request_without_ref_is_malformed_and_not_acked(
    utd_engine: Engine, frame: dict[str, Any]
) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            connect(utd_engine, "alice") as (alice, _),
            connect(utd_engine, "bob") as (
                bob,
                _,
            ),
        ):
            await send(alice, frame)
            error = await recv(alice)
            await send(alice, {"event": "ping", "ref": "after"})
            after = await recv(alice)  # no ack came between the error and the pong
            await send(bob, {"event": "ping", "ref": "b"})
            bob_next = await recv(bob)  # the typing was not delivered either
    assert error["event"] == "error"
    assert "ref" not in error
    assert (error["data"]["status"], error["data"]["code"]) == (422, "invalid_frame")
    assert after == {"event": "pong", "ref": "after"}
    assert bob_next == {"event": "pong", "ref": "b"}
    assert utd_engine.stats.invalid_frames == 1


async def test_ping_without_ref_is_still_answered(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            await send(ws, {"event": "ping"})
            assert await recv(ws) == {"event": "pong"}
    assert utd_engine.stats.invalid_frames == 0


@pytest.mark.parametrize("client_id", [None, "", 5])
async def test_message_send_needs_a_client_id(utd_engine: Engine, client_id: object) -> None:
    data: dict[str, Any] = {"to": "bob", "text": "hi"}
    if client_id is not None:
        data["client_id"] = client_id
    with trio.fail_after(TIMEOUT):
        async with (
            connect(utd_engine, "alice") as (alice, _),
            connect(utd_engine, "bob") as (
                bob,
                _,
            ),
        ):
            await send(alice, {"event": "message.send", "ref": "m1", "data": data})
            refused = await recv(alice)
            fine = {"client_id": "c-1", "to": "bob", "text": "ok"}
            await send(alice, {"event": "message.send", "ref": "m2", "data": fine})
            acked = await recv(alice)
            delivered = await recv(bob)
    assert refused["event"] == "error"
    assert refused["ref"] == "m1"
    assert (refused["data"]["status"], refused["data"]["code"]) == (422, "invalid")
    assert "client_id" in refused["data"]["message"]
    assert (acked["event"], acked["data"]["seq"]) == ("ack", 1)  # nothing was stored before
    assert (delivered["event"], delivered["data"]["text"]) == ("message.new", "ok")
