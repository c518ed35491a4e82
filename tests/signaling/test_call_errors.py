"""Call errors (busy, roles, states, bad input) and invites that race a dropping socket."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio.testing

from utd_trio import Call, CallIncoming, ErrorCode, UTDStreamError, open_signaling
from utd_trio._domains._calls import new_call_id
from utd_trio.testing import Engine, _calls

from ._helpers import Creds, assert_quiet, peers

pytestmark = pytest.mark.both_loops


async def expect(code: ErrorCode, fn: Any, *args: Any, **kwargs: Any) -> UTDStreamError:
    """Await ``fn(*args, **kwargs)`` and return the `UTDStreamError` of ``code`` it raised."""
    with pytest.raises(UTDStreamError) as info:
        await fn(*args, **kwargs)
    assert info.value.code is code, info.value
    return info.value


async def test_busy_parties_get_conflict(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "carol", "dave") as (a, b, c, d):
            call = await a.sig.invite("bob")
            busy = await expect(ErrorCode.CONFLICT, c.sig.invite, "bob")  # callee ringing
            assert busy.status == 409
            await expect(ErrorCode.CONFLICT, c.sig.invite, "alice")  # caller is busy too
            await expect(ErrorCode.CONFLICT, b.sig.invite, "carol")  # busy users cannot call
            await b.sig.accept_call(call.call_id)
            await expect(ErrorCode.CONFLICT, d.sig.invite, "bob")  # active call: still busy
            await c.sig.invite("dave")  # other users are unaffected
            await a.sig.end_call(call.call_id)
            await b.sig.invite("alice")  # free once the call is over


async def test_role_and_state_violations(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "carol") as (alice, bob, carol):
            call = await alice.sig.invite("bob")
            await expect(ErrorCode.FORBIDDEN, alice.sig.accept_call, call.call_id)  # caller
            await expect(ErrorCode.FORBIDDEN, carol.sig.accept_call, call.call_id)  # stranger
            await expect(ErrorCode.FORBIDDEN, alice.sig.reject_call, call.call_id)
            await expect(ErrorCode.FORBIDDEN, alice.sig.ringing, call.call_id)
            await expect(ErrorCode.FORBIDDEN, bob.sig.cancel_call, call.call_id)  # callee
            await expect(ErrorCode.FORBIDDEN, carol.sig.end_call, call.call_id)
            await expect(ErrorCode.CONFLICT, alice.sig.end_call, call.call_id)  # not answered
            await bob.sig.accept_call(call.call_id)
            await expect(ErrorCode.CONFLICT, bob.sig.accept_call, call.call_id)  # twice
            await expect(ErrorCode.CONFLICT, bob.sig.reject_call, call.call_id)
            await expect(ErrorCode.CONFLICT, alice.sig.cancel_call, call.call_id)
            await bob.sig.end_call(call.call_id)
            await expect(ErrorCode.CONFLICT, alice.sig.end_call, call.call_id)  # over


async def test_unknown_call_is_not_found(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice") as (alice,):
            unknown = new_call_id()
            for verb in (
                alice.sig.accept_call,
                alice.sig.reject_call,
                alice.sig.cancel_call,
                alice.sig.end_call,
                alice.sig.ringing,
            ):
                error = await expect(ErrorCode.NOT_FOUND, verb, unknown)
                assert error.status == 404


async def test_bad_input_is_refused_and_the_connection_keeps_working(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            sig = alice.sig
            for to in ("", "alice", "bad id", "x" * 129):
                with pytest.raises(ValueError, match=r"to|yourself"):
                    await sig.invite(to)
            with pytest.raises(ValueError, match="metadata"):
                await sig.invite("bob", metadata={"blob": "x" * (17 * 1024)})
            with pytest.raises(ValueError, match="metadata"):
                await sig.invite("bob", metadata=["not", "an", "object"])  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="reason"):
                await sig.reject_call(new_call_id(), reason="nope")
            with pytest.raises(ValueError, match="call_id"):
                await sig.accept_call("")
            # The engine is strict too: what the SDK would never send gets INVALID.
            invalid: list[dict[str, Any]] = [
                {"to": "alice", "type": "audio"},  # self-call
                {"to": "bob", "type": "hologram"},
                {"to": "bob", "type": "audio", "call_id": "call_123"},
                {"to": "bob", "type": "audio", "metadata": {"x": "y" * 17000}},
                {"type": "audio"},
            ]
            for data in invalid:
                error = await expect(ErrorCode.INVALID, sig.request, "call.invite", data)
                assert error.status == 422
            await expect(ErrorCode.INVALID, sig.request, "call.accept", {})
            await expect(ErrorCode.INVALID, sig.request, "call.reject", {"reason": "meh"})
            call = await sig.invite("bob", metadata={"ok": True})  # still working
            assert (await bob.next(CallIncoming)).call_id == call.call_id


async def test_invite_with_the_same_call_id_is_one_call(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "carol") as (alice, bob, carol):
            data = {"to": "bob", "type": "video", "call_id": new_call_id()}
            first = await alice.sig.request("call.invite", data)
            again = await alice.sig.request("call.invite", data)
            assert first == again
            assert first["call_id"] == data["call_id"]
            assert (await bob.next(CallIncoming)).call_id == data["call_id"]
            stolen = {"to": "alice", "type": "audio", "call_id": data["call_id"]}
            await expect(ErrorCode.CONFLICT, carol.sig.request, "call.invite", stolen)
            await assert_quiet(bob, CallIncoming)  # one call, one ring


async def test_invite_resent_after_the_socket_drops_before_the_engine_saw_it(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            utd_engine.stall_sockets("alice")  # the invite waits, unprocessed, in the engine
            calls: list[Call] = []

            async def invite() -> None:
                calls.append(await alice.sig.invite("bob"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(invite)
                await anyio.wait_all_tasks_blocked()
                await utd_engine.drop_sockets("alice", code=1011)
            (call,) = calls
            assert (await bob.next(CallIncoming)).call_id == call.call_id
            await assert_quiet(bob, CallIncoming)
            assert alice.sig.reconnects == 1


async def test_invite_resent_after_the_ack_was_lost_is_the_same_call(
    utd_engine: Engine, creds: Creds, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_send = _calls.send_to_user

    def stall_caller_then_send(
        state: Any, app_id: str, user: str, event: str, *a: Any, **k: Any
    ) -> None:
        if event == "call.incoming":
            utd_engine.stall_sockets("alice")  # the engine made the call; its ack is held
        real_send(state, app_id, user, event, *a, **k)

    monkeypatch.setattr(_calls, "send_to_user", stall_caller_then_send)
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            calls: list[Call] = []

            async def invite() -> None:
                calls.append(await alice.sig.invite("bob"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(invite)
                incoming = await bob.next(CallIncoming)
                await utd_engine.drop_sockets("alice", code=None)  # held ack is lost
            (call,) = calls
            assert call.call_id == incoming.call_id
            await assert_quiet(bob, CallIncoming)  # the resend did not ring again
            await bob.sig.accept_call(call.call_id)


async def test_invite_on_a_stalled_socket_fails_within_its_timeout(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(60):
        async with open_signaling(**creds(utd_engine, "alice", request_timeout=3)) as alice:
            utd_engine.stall_sockets("alice")
            start = anyio.current_time()
            await expect(ErrorCode.TIMEOUT, alice.invite, "bob")
            assert anyio.current_time() - start == pytest.approx(3, abs=0.5)
