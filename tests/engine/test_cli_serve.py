"""``utd-trio serve``: argument parsing and a real run in a child process."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest
import trio

from utd_trio._cli import build_parser, main

SERVE = "from utd_trio._cli import main; raise SystemExit(main(['serve', '--port', '0', *{extra}]))"


def test_serve_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.tls) == ("127.0.0.1", 8080, False)
    assert (args.app_id, args.app_key, args.app_secret) == ("app_test", "key_test", "secret_test")
    assert (args.no_signaling, args.no_chat, args.hardened) == (False, False, False)
    assert args.heartbeat_interval == 25.0
    assert args.mint_rate_limit == 120


def test_command_is_required_and_serve_is_discovered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out


async def _read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    output = b""
    while marker not in output:
        chunk = await stream.receive_some(4096)
        assert chunk, f"process ended early: {output!r}"
        output += chunk
    return output


@pytest.mark.parametrize("extra", [[], ["--no-chat", "--app-id", "app_cli"]])
async def test_serve_runs_until_interrupted(extra: list[str]) -> None:
    with trio.fail_after(60):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", SERVE.format(extra=extra)],
            stdout=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            output = (await _read_until(process.stdout, b"Ctrl-C")).decode()
            lines = dict(
                line.strip().split(": ", 1) for line in output.splitlines() if ": " in line
            )
            base_url = lines["base URL"].strip()
            app_id = lines["app id"].strip()
            async with httpx.AsyncClient(base_url=base_url) as client:
                response = await client.post(
                    "/api/v1/auth/session",
                    headers={"X-App-Id": app_id, "X-App-Key": lines["app key"].strip()},
                    json={"identity": "alice"},
                )
            process.send_signal(signal.SIGINT)
            assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert base_url.startswith("http://127.0.0.1:")
    assert response.status_code == 200
    body = response.json()
    assert body["ws_url"] == base_url.replace("http://", "ws://") + "/ws"
    assert body["messaging_enabled"] is ("--no-chat" not in extra)
