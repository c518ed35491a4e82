"""1:1 call flows between real sessions over loopback: every path of the call lifecycle."""

from __future__ import annotations

import anyio
import pytest
import trio.testing

from utd_trio import (
    CallAccepted,
    CallAnsweredElsewhere,
    CallCancelled,
    CallEnded,
    CallIncoming,
    CallMissed,
    CallRejected,
    CallRinging,
    Connected,
)
from utd_trio.testing import Engine, open_engine
from utd_trio.testing._call_book import CallRecord, set_call_media

from ._helpers import Creds, assert_quiet, collect_until, peers, raw_socket, recv

pytestmark = pytest.mark.both_loops


async def test_invite_ringing_accept_with_media_passthrough(
    utd_engine: Engine, creds: Creds
) -> None:
    media = {"url": "wss://media.example/sfu", "token": "tok", "extra": {"nested": [1, 2]}}

    def make_media(call: CallRecord) -> dict[str, object]:
        return {**media, "room": call.call_id}

    set_call_media(utd_engine.state, make_media)
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", name="Alice") as (alice, bob):
            call = await alice.sig.invite("bob", video=True, metadata={"topic": "standup"})
            assert call.call_id.startswith("call_")
            assert len(call.call_id) == 29
            assert (call.to, call.video, call.status) == ("bob", True, "ringing")
            assert call.expires_at is not None

            incoming = await bob.next(CallIncoming)
            assert incoming.call_id == call.call_id
            assert (incoming.caller, incoming.video) == ("alice", True)
            assert incoming.caller_name == "Alice"
            assert incoming.metadata == {"topic": "standup"}
            assert incoming.expires_at == call.expires_at

            await bob.sig.ringing(call.call_id)
            assert (await alice.next(CallRinging)).call_id == call.call_id

            answer = await bob.sig.accept_call(call.call_id)
            assert answer.call_id == call.call_id
            assert answer.room_name
            assert answer.media == {**media, "room": call.call_id}
            accepted = await alice.next(CallAccepted)
            assert (accepted.call_id, accepted.by) == (call.call_id, "bob")
            assert accepted.room_name == answer.room_name
            assert accepted.media == answer.media


async def test_accept_without_media_has_none(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            assert not call.video
            assert (await bob.next(CallIncoming)).video is False
            answer = await bob.sig.accept_call(call.call_id)
            assert answer.media is None
            assert (await alice.next(CallAccepted)).media is None


async def test_answered_elsewhere_on_the_callees_other_device(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "bob") as (alice, phone, laptop):
            call = await alice.sig.invite("bob")
            assert (await phone.next(CallIncoming)).call_id == call.call_id
            assert (await laptop.next(CallIncoming)).call_id == call.call_id
            await laptop.sig.accept_call(call.call_id)
            assert (await phone.next(CallAnsweredElsewhere)).call_id == call.call_id
            assert (await alice.next(CallAccepted)).by == "bob"
            await assert_quiet(laptop, CallAnsweredElsewhere)


async def test_reject_reaches_caller_and_callees_other_devices(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "bob") as (alice, phone, laptop):
            call = await alice.sig.invite("bob")
            await phone.next(CallIncoming)
            await phone.sig.reject_call(call.call_id, reason="busy")
            rejected = await alice.next(CallRejected)
            assert (rejected.call_id, rejected.by, rejected.reason) == (call.call_id, "bob", "busy")
            other = await laptop.next(CallRejected)
            assert (other.call_id, other.reason) == (call.call_id, "busy")
            await assert_quiet(phone, CallRejected)
            # Both parties are free again.
            again = await alice.sig.invite("bob")
            assert (await phone.next(CallIncoming)).call_id == again.call_id


async def test_reject_without_reason_is_declined(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            await bob.sig.reject_call(call.call_id)
            assert (await alice.next(CallRejected)).reason == "declined"


async def test_cancel_before_answer(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            await bob.next(CallIncoming)
            await alice.sig.cancel_call(call.call_id)
            assert (await bob.next(CallCancelled)).call_id == call.call_id
            await alice.sig.invite("bob")  # free again


async def test_end_reports_duration_to_both_sides(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(600):
        async with peers(utd_engine, creds, "alice", "bob", "bob") as (alice, bob, bob2):
            call = await alice.sig.invite("bob")
            await bob.sig.accept_call(call.call_id)
            await alice.next(CallAccepted)
            await anyio.sleep(42.5)  # virtual time: the call lasts 42.5 s
            assert await bob.sig.end_call(call.call_id) == 42
            ended = await alice.next(CallEnded)
            assert (ended.call_id, ended.by, ended.reason) == (call.call_id, "bob", "hangup")
            assert ended.duration_seconds == 42
            assert (await bob2.next(CallEnded)).duration_seconds == 42
            await assert_quiet(bob, CallEnded)
            await alice.sig.invite("bob")  # free again


async def test_caller_may_end_too(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            await bob.sig.accept_call(call.call_id)
            assert await alice.sig.end_call(call.call_id) == 0
            ended = await bob.next(CallEnded)
            assert (ended.by, ended.duration_seconds) == ("alice", 0)


async def test_ring_timeout_is_missed_on_both_sides(
    creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(300):
        async with open_engine(ring_timeout=12) as engine:
            async with peers(engine, creds, "alice", "bob") as (alice, bob):
                start = anyio.current_time()
                call = await alice.sig.invite("bob")
                await bob.next(CallIncoming)
                assert (await alice.next(CallMissed)).call_id == call.call_id
                assert (await bob.next(CallMissed)).call_id == call.call_id
                assert 12 <= anyio.current_time() - start < 13
                await alice.sig.invite("bob")  # both free again


async def test_answered_call_is_not_missed(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(300):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            await bob.sig.accept_call(call.call_id)
            await anyio.sleep(60)  # well past the 30 s ring timeout
            await assert_quiet(alice, CallMissed)
            await assert_quiet(bob, CallMissed)
            assert await alice.sig.end_call(call.call_id) == 60


async def test_offline_callee_gets_incoming_when_connecting(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice") as (alice,):
            call = await alice.sig.invite("bob", metadata={"k": 1})
            assert call.status == "initiating"
            async with raw_socket(utd_engine, "bob") as ws:  # bob's device wakes up
                frame = await recv(ws)
                assert frame["event"] == "call.incoming"
                data = frame["data"]
                assert (data["call_id"], data["from"], data["type"]) == (
                    call.call_id,
                    "alice",
                    "audio",
                )
                assert data["metadata"] == {"k": 1}


async def test_callee_reconnecting_while_ringing_hears_it_again(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            assert (await bob.next(CallIncoming)).call_id == call.call_id
            await utd_engine.drop_sockets("bob")
            assert (await bob.next(CallIncoming)).call_id == call.call_id  # same call again
            await bob.sig.accept_call(call.call_id)
            assert (await alice.next(CallAccepted)).call_id == call.call_id


async def test_socket_drop_mid_call_does_not_end_it(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            call = await alice.sig.invite("bob")
            await bob.sig.accept_call(call.call_id)
            await utd_engine.drop_sockets("alice", code=None)
            await utd_engine.drop_sockets("bob", code=1011)
            for peer in (alice, bob):
                skipped, _ = await collect_until(peer, Connected)
                assert not [ev for ev in skipped if isinstance(ev, CallEnded)]
                await assert_quiet(peer, CallEnded)
            assert await alice.sig.end_call(call.call_id) is not None  # still active
            assert (await bob.next(CallEnded)).call_id == call.call_id
