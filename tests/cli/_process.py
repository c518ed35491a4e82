"""Run the real ``utd-trio`` executable (the console script of this environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import trio


def utd_trio_command(*argv: str) -> list[str]:
    """``utd-trio ARGV`` as installed next to this interpreter (``uv run utd-trio``)."""
    script = Path(sys.executable).parent / ("utd-trio.exe" if os.name == "nt" else "utd-trio")
    assert script.exists(), f"no console script at {script}: is the project installed?"
    return [str(script), *argv]


def clean_env() -> dict[str, str]:
    """This environment without the developer's ``UTD_*`` / ``NO_COLOR`` settings."""
    drop = ("UTD_BASE_URL", "UTD_APP_ID", "UTD_APP_KEY", "UTD_APP_SECRET", "NO_COLOR")
    return {name: value for name, value in os.environ.items() if name not in drop}


@asynccontextmanager
async def utd_trio(*argv: str, env: dict[str, str] | None = None) -> AsyncIterator[trio.Process]:
    """The running ``utd-trio ARGV`` with stdout and stderr piped; killed if still alive."""
    process = await trio.lowlevel.open_process(
        utd_trio_command(*argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env if env is not None else clean_env(),
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def read_until(stream: trio.abc.ReceiveStream | None, marker: bytes) -> bytes:
    """Read ``stream`` until ``marker`` has arrived; fails if it ends first."""
    assert stream is not None
    output = b""
    while marker not in output:
        chunk = await stream.receive_some(4096)
        assert chunk, f"output ended before {marker!r}: {output!r}"
        output += chunk
    return output


async def read_all(stream: trio.abc.ReceiveStream | None) -> bytes:
    """Everything left on ``stream`` until it ends."""
    assert stream is not None
    output = b""
    while chunk := await stream.receive_some(65536):
        output += chunk
    return output


async def finish(process: trio.Process) -> tuple[int, str]:
    """Wait for the exit; the status and all of stderr."""
    err = await read_all(process.stderr)
    status = await process.wait()
    return status, err.decode()


async def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``utd-trio ARGV`` to its end: status, stdout, stderr."""
    async with utd_trio(*argv, env=env) as process:
        out = await read_all(process.stdout)
        status, err = await finish(process)
    return status, out.decode(), err


__all__: Sequence[str] = [
    "clean_env",
    "finish",
    "read_all",
    "read_until",
    "run",
    "utd_trio",
    "utd_trio_command",
]
