"""``utd-trio presence`` against an in-process engine."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager

import pytest
import trio

from utd_trio import Signaling, open_signaling
from utd_trio.testing import Engine

from ._helpers import Tap, client_args, run_cli


def session(engine: Engine, user: str) -> AbstractAsyncContextManager[Signaling]:
    project = engine.default_project
    return open_signaling(
        app_id=project.app_id, app_key=project.app_key, user_id=user, base_url=engine.base_url
    )


async def test_snapshot_over_rest(utd_engine: Engine, tap: Tap) -> None:
    with trio.fail_after(10):
        async with session(utd_engine, "bob"):
            argv = ["presence", "bob", "carol", *client_args(utd_engine), "--json"]
            assert await run_cli(argv, tap) == 0
        # No socket was opened for the asking user.
        assert utd_engine.mint_count("alice") == 1
    records = {r["user"]: r for r in map(json.loads, tap.lines)}
    assert records["bob"]["presence"]["online"] is True
    assert records["carol"]["presence"]["online"] is False
    assert records["carol"]["text"] == "carol is offline"


async def test_watch_prints_changes(utd_engine: Engine, tap: Tap) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            status: list[int] = []

            async def watch() -> None:
                argv = ["presence", "carol", *client_args(utd_engine), "--watch"]
                status.append(await run_cli([*argv, "--max-events", "1"], tap))

            nursery.start_soon(watch)
            await tap.wait_for("carol is offline")
            async with session(utd_engine, "carol"):
                await tap.wait_for("carol is online")
    assert status == [0]
    presence_lines = [line for line in tap.lines if "carol is" in line]
    assert len(presence_lines) == 2
    assert all(line.split()[2] == "carol" for line in presence_lines)  # whose presence


async def test_duration_needs_watch(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        argv = ["presence", "bob", *client_args(utd_engine), "--duration", "1"]
        assert await run_cli(argv, tap) == 2
    assert capsys.readouterr().err == (
        "utd-trio presence: --max-events and --duration need --watch\n"
    )


async def test_signaling_disabled(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    await utd_engine.set_plan(signaling_enabled=False)
    with trio.fail_after(10):
        assert await run_cli(["presence", "bob", *client_args(utd_engine)], tap) == 1
    assert capsys.readouterr().err.startswith("utd-trio presence: signaling is not enabled")
