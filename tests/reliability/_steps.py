"""Cancel an operation at its n-th scheduling step, for every n, and check what is left behind.

`StepCanceller` counts scheduling steps of every task (the operation's own, the session's
background tasks, the engine's) and, once armed with a cancel scope and ``n``, cancels the
scope after the n-th. Looping n = 0, 1, 2, … until the operation completes uncancelled hits
every checkpoint the operation passes through. `counting_steps` hooks it into the running
loop: a Trio instrument (``after_task_step``) under Trio; under asyncio, a wrapper around
``asyncio.Handle._run``, so a step is every callback the loop runs (a task step, an I/O
callback, a ``call_soon``). The two loops split an operation into different numbers of
steps; each walks its own.
"""

from __future__ import annotations

import asyncio
import asyncio.events
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import sniffio
import trio


class StepCanceller:
    """Cancel ``scope`` after ``n`` more scheduling steps (any task)."""

    def __init__(self) -> None:
        self._scope: anyio.CancelScope | None = None
        self._left = 0
        self.fired = False

    def arm(self, scope: anyio.CancelScope, n: int) -> None:
        self._scope, self._left, self.fired = scope, n, False

    def disarm(self) -> None:
        self._scope = None

    def step(self) -> None:
        """One scheduling step has run."""
        if self._scope is None:
            return
        if self._left == 0:
            self._scope.cancel()
            self._scope = None
            self.fired = True
        else:
            self._left -= 1


class _TrioSteps(trio.abc.Instrument):
    def __init__(self, canceller: StepCanceller) -> None:
        self._canceller = canceller

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        self._canceller.step()


@contextmanager
def counting_steps() -> Iterator[StepCanceller]:
    """A `StepCanceller` fed every scheduling step of the running loop (Trio or asyncio)."""
    canceller = StepCanceller()
    if sniffio.current_async_library() == "trio":
        instrument = _TrioSteps(canceller)
        trio.lowlevel.add_instrument(instrument)
        try:
            yield canceller
        finally:
            trio.lowlevel.remove_instrument(instrument)
        return
    handle: Any = asyncio.events.Handle
    run = handle._run

    def run_and_count(self: asyncio.Handle) -> None:
        run(self)
        canceller.step()

    handle._run = run_and_count
    try:
        yield canceller
    finally:
        handle._run = run


def _asyncio_task_name(task: asyncio.Task[Any]) -> str:
    """The task's name, or ``module.qualname`` of its coroutine for asyncio's ``Task-N``.

    anyio names its tasks after the function they run; ``asyncio.start_server`` and
    hypercorn's asyncio worker leave asyncio's default names.
    """
    name = task.get_name()
    if not name.startswith("Task-"):
        return name
    coro: Any = task.get_coro()
    frame = getattr(coro, "cr_frame", None)
    module = frame.f_globals.get("__name__", "?") if frame is not None else "?"
    return f"{module}.{getattr(coro, '__qualname__', name)}"


def task_names() -> list[str]:
    """Names of every task of the running loop (for leak reports)."""
    if sniffio.current_async_library() != "trio":
        return sorted(_asyncio_task_name(task) for task in asyncio.all_tasks())
    names: list[str] = []

    def walk(task: trio.lowlevel.Task) -> None:
        names.append(task.name)
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(trio.lowlevel.current_root_task())
    return sorted(names)


_SERVER_SIDE = (
    "hypercorn.",
    # Trio: the engine's per-connection task; asyncio: asyncio.start_server's handler.
    "trio._highlevel_serve_listeners._run_handler",
    "utd_trio.testing._server_asyncio.AsyncioListener.serve.<locals>.handle",
)


def client_task_count() -> int:
    """Tasks that are not the engine's per-connection server tasks.

    hypercorn keeps a server connection whose client went away mid-request until its idle
    timeout; that is the test engine's business, not a client leak (client sockets are
    checked separately with `client_sockets`).
    """
    return sum(1 for name in task_names() if not name.startswith(_SERVER_SIDE))


def client_sockets(port: int) -> int:
    """Open TCP sockets of this process whose *remote* port is ``port`` (Linux /proc)."""
    import os

    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            remote_port = int(cols[2].rsplit(":", 1)[1], 16)
            if remote_port == port and cols[9] in inodes:
                count += 1
    return count
