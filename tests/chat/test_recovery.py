"""No message lost across a reconnect gap: recovered in seq order, before live ones, once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
import trio.testing

from utd_trio import (
    ChatMessage,
    Conversation,
    Disconnected,
    ErrorCode,
    MessageReceived,
    RecoveryFinished,
    UTDStreamError,
)
from utd_trio._protocol._recovery_job import RECOVERY_ATTEMPTS
from utd_trio.testing import Engine, EngineState, Session

from ._helpers import Creds, Peer, peers, wrap_ws_handler

pytestmark = pytest.mark.both_loops


async def _cut(engine: Engine, peer: Peer) -> None:
    """Make ``peer``'s socket half-dead: frames the engine sends it from now on are lost."""
    engine.stall_sockets(peer.sig.user_id)


def fail_listing(
    peer: Peer,
    failures: int,
    error: UTDStreamError,
    before_raising: Callable[[], Awaitable[object]] | None = None,
) -> list[int]:
    """Make ``peer``'s conversation listing raise ``error`` on its first ``failures`` calls.

    Returns a one-item list counting the calls made so far.
    """
    calls = [0]
    real = peer.sig.api.conversations

    async def listing() -> tuple[Conversation, ...]:
        calls[0] += 1
        if calls[0] <= failures:
            if before_raising is not None:
                await before_raising()
            raise error
        return await real()

    api: Any = peer.sig.api
    api.conversations = listing
    return calls


async def test_gap_in_known_conversation_recovered_in_order(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="before")
            assert await bob.texts(1) == ["before"]
            await _cut(utd_engine, bob)
            for i in range(5):
                await alice.sig.send_message(to="bob", text=f"gap{i}")
            await utd_engine.drop_sockets("bob", code=None)  # the engine "delivered" them
            events, finished = await bob.until(RecoveryFinished)
            got = [e for e in events if isinstance(e, MessageReceived)]
            assert [m.message.text for m in got] == [f"gap{i}" for i in range(5)]
            assert [m.message.seq for m in got] == [2, 3, 4, 5, 6]
            assert all(m.recovered for m in got)
            assert finished == RecoveryFinished(2, complete=True, delivered=5)
            live = await alice.sig.send_message(to="bob", text="live")
            received = await bob.next(MessageReceived)
            assert (received.message.id, received.recovered) == (live.id, False)
            await bob.assert_quiet(MessageReceived)


async def test_many_pages_recovered(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(20):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            await _cut(utd_engine, bob)
            for i in range(1, 451):
                await alice.sig.send_message(to="bob", text=f"m{i}")
            await utd_engine.drop_sockets("bob", code=None)
            events, finished = await bob.until(RecoveryFinished)
            seqs = [e.message.seq for e in events if isinstance(e, MessageReceived)]
            assert seqs == list(range(2, 452))
            assert finished.delivered == 450


async def test_new_conversation_during_gap_recovered_old_history_not(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "dave") as (dave,):
            await dave.sig.send_message(to="bob", text="old, before bob's session")
        utd_engine.advance_wall_clock(5)
        async with peers(utd_engine, creds, "bob", "carol", "alice") as (bob, carol, alice):
            await bob.assert_quiet(MessageReceived)
            await _cut(utd_engine, bob)
            utd_engine.advance_wall_clock(1)
            await carol.sig.send_message(to="bob", text="carol 1")
            await alice.sig.send_message(to="bob", text="alice 1")
            await carol.sig.send_message(to="bob", text="carol 2")
            await utd_engine.drop_sockets("bob", code=None)
            events, finished = await bob.until(RecoveryFinished)
            got = [e.message for e in events if isinstance(e, MessageReceived)]
            by_cid = {
                m.conversation_id: [x.text for x in got if x.conversation_id == m.conversation_id]
                for m in got
            }
            assert by_cid == {"dm:bob:carol": ["carol 1", "carol 2"], "dm:alice:bob": ["alice 1"]}
            assert finished.complete
            assert finished.delivered == 3


async def test_own_sends_are_not_delivered_back(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="mine")
            await utd_engine.drop_sockets("alice", code=1011)
            _, finished = await alice.until(RecoveryFinished)
            assert finished == RecoveryFinished(2, complete=True, delivered=0)
            await alice.assert_quiet(MessageReceived)
            assert await bob.texts(1) == ["mine"]


async def test_live_message_during_recovery_waits_for_the_missed_ones(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            real = bob.sig.api.conversations

            async def slow_listing() -> tuple[Conversation, ...]:
                # A live message arrives on the new socket before recovery fetched anything.
                await alice.sig.send_message(to="bob", text="live")
                await anyio.wait_all_tasks_blocked()
                return await real()

            api: Any = bob.sig.api
            api.conversations = slow_listing
            await _cut(utd_engine, bob)
            await alice.sig.send_message(to="bob", text="missed 1")
            await alice.sig.send_message(to="bob", text="missed 2")
            await utd_engine.drop_sockets("bob", code=None)
            events, finished = await bob.until(RecoveryFinished)
            texts = [e.message.text for e in events if isinstance(e, MessageReceived)]
            assert texts == ["missed 1", "missed 2", "live"]
            assert finished.complete
            await bob.assert_quiet(MessageReceived)


async def test_failed_history_fetch_reports_incomplete(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            # Every attempt of the first recovery fails.
            fail_listing(
                bob, RECOVERY_ATTEMPTS, UTDStreamError(ErrorCode.SERVER, "boom", status=500)
            )
            await _cut(utd_engine, bob)
            await alice.sig.send_message(to="bob", text="missed")
            await utd_engine.drop_sockets("bob", code=None)
            _, finished = await bob.until(RecoveryFinished)
            assert not finished.complete
            assert finished.error is not None
            assert "boom" in finished.error
            assert finished.incomplete is None  # not even the listing: any may miss messages
            assert bob.sig.state.value == "connected"
            await alice.sig.send_message(to="bob", text="live after the failure")
            assert await bob.texts(1) == ["live after the failure"]
            # The next reconnect recovers what the failed one could not.
            await utd_engine.drop_sockets("bob", code=1011)
            await bob.next(Disconnected)
            events, finished = await bob.until(RecoveryFinished)
            texts = [e.message.text for e in events if isinstance(e, MessageReceived)]
            assert texts == ["missed"]
            assert finished.complete


async def test_a_transient_fetch_failure_is_retried_and_order_kept(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            # A live message arrives while the first fetch fails: it is held.
            calls = fail_listing(
                bob,
                1,
                UTDStreamError(ErrorCode.NETWORK, "reset"),
                before_raising=lambda: alice.sig.send_message(to="bob", text="live"),
            )
            await _cut(utd_engine, bob)
            await alice.sig.send_message(to="bob", text="missed")
            await utd_engine.drop_sockets("bob", code=None)
            events, finished = await bob.until(RecoveryFinished)
            assert calls == [2]
            # The retry's history already holds "live": it comes in seq order, once (the
            # held live copy is dropped as a duplicate).
            got = [e.message.text for e in events if isinstance(e, MessageReceived)]
            assert got == ["missed", "live"]
            assert finished == RecoveryFinished(2, complete=True, delivered=2)
            await bob.assert_quiet(MessageReceived)


async def test_after_a_failed_recovery_the_next_one_does_not_redeliver_live_messages(
    utd_engine: Engine,
    creds: Creds,
    monkeypatch: pytest.MonkeyPatch,
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A failed recovery keeps the floors from before the first gap, so the next one pages
    # over everything delivered live since (and this user's own sends); those must not come
    # again.
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            # Every attempt of the first recovery fails.
            fail_listing(
                bob, RECOVERY_ATTEMPTS, UTDStreamError(ErrorCode.SERVER, "boom", status=500)
            )
            await _cut(utd_engine, bob)
            await alice.sig.send_message(to="bob", text="missed")
            await utd_engine.drop_sockets("bob", code=None)
            _, finished = await bob.until(RecoveryFinished)
            assert not finished.complete
            live = [f"live{i}" for i in range(6)]
            for i, text in enumerate(live):
                await alice.sig.send_message(to="bob", text=text)
                if i % 2:
                    await bob.sig.send_message(to="alice", text=f"own{i}")
            assert await bob.texts(6) == live
            await utd_engine.drop_sockets("bob", code=1011)
            await bob.next(Disconnected)
            events, finished = await bob.until(RecoveryFinished)
            texts = [e.message.text for e in events if isinstance(e, MessageReceived)]
            assert texts == ["missed"]
            assert finished == RecoveryFinished(3, complete=True, delivered=1)


async def test_group_gap_recovered(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "carol", "alice", "bob") as (carol, alice, bob):
            group = await carol.sig.create_group("team", ["alice", "bob"])
            await alice.sig.send_message(group_id=group.group_id, text="g0")
            assert await bob.texts(1) == ["g0"]
            await _cut(utd_engine, bob)
            await alice.sig.send_message(group_id=group.group_id, text="g1")
            await carol.sig.send_message(group_id=group.group_id, text="g2")
            await utd_engine.drop_sockets("bob", code=None)
            events, finished = await bob.until(RecoveryFinished)
            got = [e.message for e in events if isinstance(e, MessageReceived)]
            assert [(m.text, m.sender, m.seq) for m in got] == [
                ("g1", "alice", 2),
                ("g2", "carol", 3),
            ]
            assert {m.conversation_id for m in got} == {group.conversation_id}
            assert finished.complete


def slow_listing(peer: Peer) -> tuple[anyio.Event, anyio.Event]:
    """Hold ``peer``'s conversation listing (a slow REST leg next to a fast socket).

    Returns ``(started, release)``: set when a listing is asked for; set it to let it go.
    """
    started, release = anyio.Event(), anyio.Event()
    real = peer.sig.api.conversations

    async def listing() -> tuple[Conversation, ...]:
        started.set()
        await release.wait()
        return await real()

    api: Any = peer.sig.api
    api.conversations = listing
    return started, release


async def test_both_parties_talking_during_a_recovery_lose_nothing(
    utd_engine: Engine, creds: Creds
) -> None:
    # The outside tester's case: bob recovers while alice and bob both write in their DM.
    # Bob's own acked sends must not hide alice's messages between them.
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            started, release = slow_listing(bob)
            await _cut(utd_engine, bob)
            await alice.sig.send_message(to="bob", text="missed")
            await utd_engine.drop_sockets("bob", code=None)
            await started.wait()  # bob is connected again and recovering
            for i in range(3):
                await alice.sig.send_message(to="bob", text=f"live{i}")
                await bob.sig.send_message(to="alice", text=f"own{i}")
            await alice.sig.send_message(to="bob", text="live3")
            release.set()
            events, finished = await bob.until(RecoveryFinished)
            texts = [e.message.text for e in events if isinstance(e, MessageReceived)]
            assert texts == ["missed", "live0", "live1", "live2", "live3"]
            assert finished.complete
            await alice.sig.send_message(to="bob", text="after")
            assert await bob.texts(1) == ["after"]
            await bob.assert_quiet(MessageReceived)


async def test_a_resend_answered_with_a_seq_from_before_the_gap_hides_nothing(
    utd_engine: Engine, creds: Creds
) -> None:
    # Bob's send is stored but its ack is lost with the socket; the resend on the next
    # connection is answered with the seq from before the gap. Alice's messages stored after
    # it, and during bob's recovery, must all reach bob, once, in order.
    stored_once = anyio.Event()

    async def lose_the_ack(state: EngineState, session: Session, ack: dict[str, Any]) -> None:
        if session.user_id == "bob" and not stored_once.is_set():
            session.stall()  # the ack waits behind the stall and never goes out
            stored_once.set()

    wrap_ws_handler(utd_engine, "message.send", lose_the_ack)
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.send_message(to="bob", text="m0")
            await bob.texts(1)
            started, release = slow_listing(bob)
            sent: list[ChatMessage] = []

            async def send() -> None:
                sent.append(await bob.sig.send_message(to="alice", text="own"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(send)
                await stored_once.wait()
                await alice.sig.send_message(to="bob", text="missed")
                await utd_engine.drop_sockets("bob", code=None)
                await started.wait()
                await alice.sig.send_message(to="bob", text="live")
                await anyio.wait_all_tasks_blocked()  # the resend is answered
                await bob.sig.send_message(to="alice", text="own after")
                await alice.sig.send_message(to="bob", text="live after")
                release.set()
            assert sent[0].seq == 2  # the seq from before the gap
            events, finished = await bob.until(RecoveryFinished)
            texts = [e.message.text for e in events if isinstance(e, MessageReceived)]
            assert texts == ["missed", "live", "live after"]
            assert finished.complete
            await bob.assert_quiet(MessageReceived)
