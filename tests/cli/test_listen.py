"""``utd-trio listen`` against an in-process engine."""

from __future__ import annotations

import json
import os
import pathlib
import signal

import pytest
import trio

from utd_trio import open_signaling
from utd_trio.testing import Engine

from ._helpers import Tap, client_args, run_cli


async def test_listen_prints_connect_and_reconnect(utd_engine: Engine, tap: Tap) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            status: list[int] = []

            async def listen() -> None:
                argv = ["listen", *client_args(utd_engine), "--max-events", "2", "--color=never"]
                status.append(await run_cli(argv, tap))

            nursery.start_soon(listen)
            await tap.wait_for("connected (generation 1)")
            await utd_engine.drop_sockets("alice", code=1011, reason="test drop")
    assert status == [0]
    assert "disconnected (code 1011, test drop); reconnecting" in tap.text
    assert "connected (generation 2)" in tap.text
    assert len(tap.lines) == 3
    assert all(line.split()[2] == "alice" for line in tap.lines)


async def test_listen_json_lines(utd_engine: Engine, tap: Tap) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def listen() -> None:
                argv = ["listen", *client_args(utd_engine), "--json", "--max-events", "1"]
                assert await run_cli(argv, tap) == 0

            nursery.start_soon(listen)
            await tap.wait_for('"kind": "note"')
            await utd_engine.drop_sockets("alice")
    records = [json.loads(line) for line in tap.lines]
    assert [r["kind"] for r in records] == ["note", "event"]
    assert records[0]["capabilities"]["chat_enabled"] is True
    assert records[1]["event"]["type"] == "Disconnected"
    assert records[1]["event"]["will_retry"] is True
    assert all(r["user"] == "alice" for r in records)


async def test_listen_duration_ends_cleanly(utd_engine: Engine, tap: Tap) -> None:
    with trio.fail_after(10):
        assert await run_cli(["listen", *client_args(utd_engine), "--duration", "0.2"], tap) == 0
        await utd_engine.wait_socket_count("alice", 0)
    assert "connected (generation 1)" in tap.text


async def test_ctrl_c_closes_the_session_and_exits_130(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            status: list[int] = []

            async def listen() -> None:
                status.append(await run_cli(["listen", *client_args(utd_engine)], tap))

            nursery.start_soon(listen)
            await tap.wait_for("connected (generation 1)")
            os.kill(os.getpid(), signal.SIGINT)
        await utd_engine.wait_socket_count("alice", 0)
    assert status == [130]
    assert capsys.readouterr().err == "utd-trio listen: interrupted\n"


@pytest.mark.parametrize("value", ["-1"])
async def test_bad_max_events_is_a_usage_error(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with trio.fail_after(10):
        status = await run_cli(["listen", *client_args(utd_engine), "--max-events", value])
    assert status == 2
    assert capsys.readouterr().err.strip() == "utd-trio listen: --max-events must be >= 0"


async def test_listen_over_tls_with_a_ca_file(
    utd_engine_tls: Engine, tap: Tap, tmp_path: pathlib.Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(utd_engine_tls.ca_pem())
    argv = ["listen", *client_args(utd_engine_tls), "--ca-file", str(ca), "--max-events", "0"]
    with trio.fail_after(10):
        assert await run_cli(argv, tap) == 0
    assert utd_engine_tls.base_url.startswith("https://")
    assert "connected (generation 1)" in tap.text


async def test_tls_without_the_ca_is_refused(
    utd_engine_tls: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["listen", *client_args(utd_engine_tls), "--connect-timeout", "0.5"]
    with trio.fail_after(10):
        assert await run_cli(argv, tap) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("utd-trio listen: engine unreachable")


async def test_listen_follows_presence(utd_engine: Engine, tap: Tap) -> None:
    project = utd_engine.default_project
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def listen() -> None:
                argv = ["listen", *client_args(utd_engine), "--presence", "carol"]
                assert await run_cli([*argv, "--max-events", "1"], tap) == 0

            nursery.start_soon(listen)
            await tap.wait_for("carol is offline")
            async with open_signaling(
                app_id=project.app_id,
                app_key=project.app_key,
                user_id="carol",
                base_url=utd_engine.base_url,
            ):
                await tap.wait_for("carol is online")
    assert tap.lines[-1].split()[2:] == ["alice", "carol", "is", "online"]
