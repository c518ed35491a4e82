"""Helpers for the CLI tests: run a subcommand in-process, watch its output."""

from __future__ import annotations

import socket
import sys

import trio

from utd_trio._cli import build_parser
from utd_trio.testing import Engine


async def run_cli(argv: list[str], out: Tap | None = None) -> int:
    """Parse ``argv`` like ``utd-trio`` and run the subcommand inside the current Trio run.

    With ``out``, the command's ``sys.stdout`` is that `Tap` while it runs.
    """
    args = build_parser().parse_args(argv)
    saved = sys.stdout
    if out is not None:
        sys.stdout = out
    try:
        status: int = await args.run_async(args)
    finally:
        sys.stdout = saved
    return status


def client_args(engine: Engine, user: str = "alice", *, key: str | None = None) -> list[str]:
    """The connection options for ``engine``'s default project."""
    project = engine.default_project
    return [
        "--base-url",
        engine.base_url,
        "--app-id",
        project.app_id,
        "--app-key",
        key or project.app_key,
        "--user",
        user,
    ]


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Tap:
    """A stdout stand-in that keeps lines and wakes Trio waiters when one arrives."""

    def __init__(self) -> None:
        self.text = ""
        self._changed = trio.Event()

    def write(self, text: str) -> int:
        self.text += text
        self._changed.set()
        self._changed = trio.Event()
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    async def wait_for(self, needle: str) -> None:
        """Wait until ``needle`` has been written."""
        while needle not in self.text:
            await self._changed.wait()
