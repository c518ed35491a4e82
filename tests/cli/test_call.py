"""``utd-trio call`` against an in-process engine, with the callee driven by the test."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from utd_trio import (
    CallCancelled,
    CallEnded,
    CallIncoming,
    Event,
    EventStream,
    Signaling,
    open_signaling,
)
from utd_trio.testing import Engine

from ._helpers import Tap, client_args, run_cli


async def next_of(stream: EventStream[Event], kind: type[Event]) -> Any:
    async for event in stream:
        if isinstance(event, kind):
            return event
    raise AssertionError(f"stream ended before a {kind.__name__}")


@asynccontextmanager
async def callee(engine: Engine) -> AsyncGenerator[tuple[Signaling, EventStream[Event]]]:
    project = engine.default_project
    async with (
        open_signaling(
            app_id=project.app_id, app_key=project.app_key, user_id="bob", base_url=engine.base_url
        ) as bob,
        bob.events() as stream,
    ):
        yield bob, stream


async def run_call(
    engine: Engine,
    tap: Tap,
    extra: list[str],
    answer: Callable[[Signaling, EventStream[Event]], Awaitable[None]],
) -> int:
    """Run ``call --to bob`` while ``answer`` plays bob; return the command's status."""
    status: list[int] = []
    async with callee(engine) as (bob, stream), trio.open_nursery() as nursery:

        async def call() -> None:
            argv = ["call", *client_args(engine), "--to", "bob", *extra, "--color=never"]
            status.append(await run_cli(argv, tap))

        nursery.start_soon(call)
        await answer(bob, stream)
    return status[0] if status else -1


async def test_answered_then_hung_up_by_the_callee(utd_engine: Engine, tap: Tap) -> None:
    async def answer(bob: Signaling, stream: EventStream[Event]) -> None:
        incoming = await next_of(stream, CallIncoming)
        assert incoming.caller == "alice"
        await bob.ringing(incoming.call_id)
        await bob.accept_call(incoming.call_id)
        await tap.wait_for("accepted by bob")
        await bob.end_call(incoming.call_id)

    with trio.fail_after(10):
        assert await run_call(utd_engine, tap, [], answer) == 0
    assert "calling bob: call_" in tap.text
    assert "is ringing" in tap.text
    assert "ended by bob" in tap.text


async def test_hangup_after(utd_engine: Engine, tap: Tap) -> None:
    async def answer(bob: Signaling, stream: EventStream[Event]) -> None:
        incoming = await next_of(stream, CallIncoming)
        await bob.accept_call(incoming.call_id)
        ended = await next_of(stream, CallEnded)
        assert (ended.call_id, ended.by) == (incoming.call_id, "alice")

    with trio.fail_after(10):
        assert await run_call(utd_engine, tap, ["--hangup-after", "0"], answer) == 0
    assert "hung up call_" in tap.text


async def test_rejected(utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]) -> None:
    async def answer(bob: Signaling, stream: EventStream[Event]) -> None:
        incoming = await next_of(stream, CallIncoming)
        await bob.reject_call(incoming.call_id, reason="busy")

    with trio.fail_after(10):
        assert await run_call(utd_engine, tap, [], answer) == 1
    assert capsys.readouterr().err == "utd-trio call: bob did not answer: rejected\n"
    assert "rejected by bob (busy)" in tap.text


async def test_unanswered_is_cancelled(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    async def answer(bob: Signaling, stream: EventStream[Event]) -> None:
        incoming = await next_of(stream, CallIncoming)
        cancelled = await next_of(stream, CallCancelled)
        assert cancelled.call_id == incoming.call_id

    with trio.fail_after(10):
        assert await run_call(utd_engine, tap, ["--ring-timeout", "0.2"], answer) == 1
    assert capsys.readouterr().err == "utd-trio call: no answer within 0.2 s; cancelled\n"


async def test_ctrl_c_while_ringing_cancels(utd_engine: Engine, tap: Tap) -> None:
    async def answer(bob: Signaling, stream: EventStream[Event]) -> None:
        incoming = await next_of(stream, CallIncoming)
        await tap.wait_for("calling bob")
        os.kill(os.getpid(), signal.SIGINT)
        cancelled = await next_of(stream, CallCancelled)
        assert cancelled.call_id == incoming.call_id

    with trio.fail_after(10):
        assert await run_call(utd_engine, tap, [], answer) == 130
        await utd_engine.wait_socket_count("alice", 0)


async def test_signaling_disabled(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    await utd_engine.set_plan(signaling_enabled=False)
    with trio.fail_after(10):
        status = await run_cli(["call", *client_args(utd_engine), "--to", "bob"], tap)
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("utd-trio call: signaling is not enabled for this project's plan")
    assert err.count("\n") == 1


async def test_bad_ring_timeout(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["call", *client_args(utd_engine), "--to", "bob", "--ring-timeout", "-1"]
    with trio.fail_after(10):
        assert await run_cli(argv, tap) == 2
    assert capsys.readouterr().err == (
        "utd-trio call: --ring-timeout must be a number of seconds >= 0\n"
    )
