"""Expected failures of the client commands: one line on stderr, a non-zero status."""

from __future__ import annotations

import pytest
import trio

from utd_trio.testing import Engine

from ._helpers import Tap, client_args, closed_port, run_cli


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


async def test_bad_app_key(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        status = await run_cli(["listen", *client_args(utd_engine, key="wrong")], tap)
    assert status == 1
    assert one_line(capsys).startswith("utd-trio listen: bad credentials")
    assert tap.text == ""


async def test_engine_down(tap: Tap, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    argv = [
        "listen",
        "--base-url",
        url,
        "--app-id",
        "app_test",
        "--app-key",
        "key_test",
        "--user",
        "alice",
        "--connect-timeout",
        "0.5",
    ]
    with trio.fail_after(10):
        status = await run_cli(argv, tap)
    assert status == 1
    line = one_line(capsys)
    assert line.startswith("utd-trio listen: engine unreachable")
    assert url in line


async def test_missing_credentials_is_a_usage_error(
    tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        status = await run_cli(["listen", "--user", "alice", "--app-id", "x"], tap)
    assert status == 2
    assert one_line(capsys) == ("utd-trio listen: missing --app-key (or UTD_APP_ID / UTD_APP_KEY)")


async def test_credentials_from_the_environment(
    utd_engine: Engine, tap: Tap, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = utd_engine.default_project
    monkeypatch.setenv("UTD_BASE_URL", utd_engine.base_url)
    monkeypatch.setenv("UTD_APP_ID", project.app_id)
    monkeypatch.setenv("UTD_APP_KEY", project.app_key)
    with trio.fail_after(10):
        assert await run_cli(["listen", "--user", "alice", "--max-events", "0"], tap) == 0
    assert "alice" in tap.text


async def test_unreadable_ca_file(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    argv = ["listen", *client_args(utd_engine), "--ca-file", f"{tmp_path}/missing.pem"]
    with trio.fail_after(10):
        status = await run_cli(argv, tap)
    assert status == 2
    assert one_line(capsys).startswith("utd-trio listen: cannot use CA file")


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from utd_trio._cli import main

    commands = ["listen", "demo", "call", "presence", "send", "group create", "group list"]
    commands += [f"channel {action}" for action in ("listen", "trigger", "broadcast", "list")]
    for command in [*commands, "channel users"]:
        with pytest.raises(SystemExit) as info:
            main([*command.split(), "--help"])
        assert info.value.code == 0
        assert f"usage: utd-trio {command}" in capsys.readouterr().out


async def test_banned_while_listening(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            status: list[int] = []

            async def listen() -> None:
                status.append(await run_cli(["listen", *client_args(utd_engine)], tap))

            nursery.start_soon(listen)
            await tap.wait_for("connected (generation 1)")
            await utd_engine.ban("alice")
    assert status == [1]
    assert one_line(capsys).startswith("utd-trio listen: this user is banned")


def test_os_errors_name_the_file() -> None:
    from utd_trio._cli._common import error_line

    error = FileNotFoundError(2, "No such file or directory", "/nope.pem")
    assert error_line(error) == ("No such file or directory: /nope.pem", 1)
    assert error_line(ConnectionResetError("reset")) == ("reset", 1)
    assert error_line(RuntimeError("bug")) is None
