"""Cancel an operation at its n-th scheduling step, for every n, and check what is left behind.

`StepCanceller` is a Trio instrument: once armed with a cancel scope and ``n``, it counts task
steps (every task: the operation's own, the session's background tasks, the engine's) and
cancels the scope after the n-th. Looping n = 0, 1, 2, … until the operation completes
uncancelled hits every checkpoint the operation passes through.
"""

from __future__ import annotations

import trio


class StepCanceller(trio.abc.Instrument):
    """Cancel ``scope`` after ``n`` more task steps (any task)."""

    def __init__(self) -> None:
        self._scope: trio.CancelScope | None = None
        self._left = 0
        self.fired = False

    def arm(self, scope: trio.CancelScope, n: int) -> None:
        self._scope, self._left, self.fired = scope, n, False

    def disarm(self) -> None:
        self._scope = None

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if self._scope is None:
            return
        if self._left == 0:
            self._scope.cancel()
            self._scope = None
            self.fired = True
        else:
            self._left -= 1


def task_count() -> int:
    """How many Trio tasks exist right now (walks the whole task tree)."""

    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(
            walk(child) for nursery in task.child_nurseries for child in nursery.child_tasks
        )

    return walk(trio.lowlevel.current_root_task())


async def settled_task_count() -> int:
    """The task count once everything runnable has run."""
    await trio.testing.wait_all_tasks_blocked()
    return task_count()


def task_names() -> list[str]:
    """Names of every task (for leak reports)."""
    names: list[str] = []

    def walk(task: trio.lowlevel.Task) -> None:
        names.append(task.name)
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(trio.lowlevel.current_root_task())
    return sorted(names)


_SERVER_SIDE = ("hypercorn.", "trio._highlevel_serve_listeners._run_handler")


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
