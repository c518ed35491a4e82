"""``utd-trio serve`` as a separate process, for tests that talk to it from outside.

This module never imports ``utd_trio``: the outside-client tests that use it must not either.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

START_TIMEOUT = 30
STOP_TIMEOUT = 15

_SCRIPT = Path(sys.executable).parent / "utd-trio"
SERVE: list[str] = (
    [str(_SCRIPT), "serve"]
    if _SCRIPT.exists()
    else [
        sys.executable,
        "-c",
        "import sys; from utd_trio._cli import main; sys.exit(main())",
        "serve",
    ]
)
"""The command line of ``utd-trio serve`` in this environment."""

CONFIG: dict[str, Any] = {
    "projects": [
        {
            "app_id": "a1",
            "app_key": "k1",
            "app_secret": "s1",
            "signaling_enabled": True,
            "messaging_enabled": True,
            "limits": {"history_days": 30, "max_group_members": 5},
            "allow_appkey_identity_mint": True,
        },
        {
            "app_id": "a2",
            "app_key": "k2",
            "app_secret": "s2",
            "signaling_enabled": False,
            "messaging_enabled": "absent",
            "limits": None,
            "allow_appkey_identity_mint": False,
        },
    ],
    "banned": {"a1": ["mallory"]},
    "heartbeat_interval": 25,
    "ring_timeout": 30,
    "token_ttl": 3600,
}
"""The configuration the outside tests run: a plain project and a hardened, odd one."""


def write_config(directory: Path, config: dict[str, Any] | None = None) -> Path:
    """Write ``config`` (default :data:`CONFIG`) to ``directory/engine.json``."""
    path = directory / "engine.json"
    path.write_text(json.dumps(CONFIG if config is None else config))
    return path


@dataclass
class Served:
    """A running ``serve`` process and what its banner said."""

    process: trio.Process
    banner: list[str]
    stderr: bytearray = field(default_factory=bytearray)

    def value(self, label: str) -> str:
        """The value of the first banner line ``label: value``."""
        return self.values(label)[0]

    def values(self, label: str) -> list[str]:
        """Every value of banner lines ``label: value``, in order."""
        prefix = f"{label}:"
        return [
            line.strip()[len(prefix) :].strip()
            for line in self.banner
            if line.strip().startswith(prefix)
        ]

    @property
    def base_url(self) -> str:
        """The engine's REST base URL."""
        return self.value("base URL")

    @property
    def ws_url(self) -> str:
        """The engine's WebSocket URL."""
        return self.value("ws URL")


async def _drain(stream: trio.abc.ReceiveStream | None, into: bytearray) -> None:
    if stream is None:
        return
    while chunk := await stream.receive_some(65536):
        into += chunk


@asynccontextmanager
async def running_serve(*args: str) -> AsyncGenerator[Served]:
    """Start ``utd-trio serve --port 0 *args``, yield once its banner is out, stop it after.

    On exit the process gets SIGINT and must end with 130 within :data:`STOP_TIMEOUT`.
    """
    process = await trio.lowlevel.open_process(
        [*SERVE, "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        async with trio.open_nursery() as nursery:
            served = Served(process, [])
            nursery.start_soon(_drain, process.stderr, served.stderr)
            out = bytearray()
            assert process.stdout is not None
            with trio.fail_after(START_TIMEOUT):
                while b"Ctrl-C" not in out:
                    chunk = await process.stdout.receive_some(65536)
                    assert chunk, f"serve ended early: {bytes(out)!r} {bytes(served.stderr)!r}"
                    out += chunk
            served.banner = out.decode().splitlines()
            nursery.start_soon(_drain, process.stdout, bytearray())
            yield served
            assert process.returncode is None, "serve died during the test"
            process.send_signal(signal.SIGINT)
            with trio.fail_after(STOP_TIMEOUT):
                status = await process.wait()
            assert status == 130, (status, bytes(served.stderr))
            assert b"Traceback" not in served.stderr, bytes(served.stderr)
    finally:
        if process.returncode is None:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()


async def serve_once(*args: str, timeout: float = START_TIMEOUT) -> tuple[int, str, str]:
    """Run ``utd-trio serve *args`` expecting it to exit on its own: ``(status, out, err)``."""
    with trio.fail_after(timeout):
        result = await trio.run_process(
            [*SERVE, *args], capture_stdout=True, capture_stderr=True, check=False
        )
    return result.returncode, result.stdout.decode(), result.stderr.decode()
