"""The real ``utd-trio`` process: Ctrl-C unwinds the session and exits 0, with no traceback."""

from __future__ import annotations

import signal
import subprocess
import sys

import trio

from utd_trio.testing import Engine

from ._helpers import client_args

LISTEN = "from utd_trio._cli import main; raise SystemExit(main({argv!r}))"


async def _read_until(stream: trio.abc.ReceiveStream, marker: bytes) -> bytes:
    output = b""
    while marker not in output:
        chunk = await stream.receive_some(4096)
        assert chunk, f"process ended early: {output!r}"
        output += chunk
    return output


async def test_ctrl_c_in_a_real_process(utd_engine: Engine) -> None:
    argv = ["listen", *client_args(utd_engine), "--color=never"]
    with trio.fail_after(20):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", LISTEN.format(argv=argv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            await _read_until(process.stdout, b"connected (generation 1)")
            await utd_engine.wait_socket_count("alice", 1)
            process.send_signal(signal.SIGINT)
            with trio.fail_after(5):  # the session closes within its close timeout
                assert await process.wait() == 0
            await utd_engine.wait_socket_count("alice", 0)
            err = await process.stderr.receive_some(65536)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert b"Traceback" not in err
