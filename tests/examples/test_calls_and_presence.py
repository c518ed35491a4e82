"""The auto-answer bot and the presence dashboard against an in-process engine.

These stay on Trio (no ``both_loops``): the example scripts are Trio programs
(``trio.run``, ``trio.open_nursery``, ``trio.move_on_after``), so under asyncio they fail
inside the example ("must be called from async context"), not in the SDK. The asyncio
example has its own tests (``test_asyncio_bot.py``).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TypeVar

import pytest
import trio

from utd_trio import CallAccepted, CallEnded, Event, EventStream, Signaling, open_signaling
from utd_trio.testing import Engine

from ._helpers import engine_args, load_example

E = TypeVar("E", bound=Event)


async def next_of(stream: EventStream[Event], kind: type[E]) -> E:
    async for event in stream:
        if isinstance(event, kind):
            return event
    raise AssertionError(f"stream ended before a {kind.__name__}")


def session(engine: Engine, user: str) -> AbstractAsyncContextManager[Signaling]:
    project = engine.default_project
    return open_signaling(
        app_id=project.app_id, app_key=project.app_key, user_id=user, base_url=engine.base_url
    )


async def test_auto_answer_accepts_and_hangs_up(
    utd_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = load_example("auto_answer")
    args = bot.parse_args(
        [*engine_args(utd_engine), "--user", "support", "--hangup-after", "0.1", "--max-calls", "1"]
    )
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run, args)
            async with session(utd_engine, "alice") as alice, alice.events() as stream:
                call = await alice.invite("support")
                accepted = await next_of(stream, CallAccepted)
                assert accepted.call_id == call.call_id
                ended = await next_of(stream, CallEnded)
                assert (ended.call_id, ended.by) == (call.call_id, "support")
        # run() returned by itself after --max-calls 1.
    out = capsys.readouterr().out
    assert f"alice is calling ({call.call_id}); answering" in out
    assert f"hung up {call.call_id} after" in out


async def test_auto_answer_main_reports_bad_credentials(
    utd_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = load_example("auto_answer")
    argv = ["--base-url", utd_engine.base_url, "--app-key", "wrong", "--duration", "5"]
    with trio.fail_after(10):
        status = await trio.to_thread.run_sync(bot.main, argv)
    assert status == 1
    assert capsys.readouterr().err.startswith("auto_answer: [unauthorized]")


async def test_presence_dashboard_prints_changes(
    utd_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    dashboard = load_example("presence_dashboard")
    args = dashboard.parse_args(["bob", "carol", *engine_args(utd_engine), "--max-updates", "2"])
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(dashboard.run, args)
            async with session(utd_engine, "bob"):
                await utd_engine.wait_socket_count("bob", 1)
            # bob came online, then went offline: two updates, and run() returns.
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith("○ bob  ○ carol")
    assert lines[1].endswith("● bob  ○ carol")
    assert "○ bob (seen " in lines[2]
