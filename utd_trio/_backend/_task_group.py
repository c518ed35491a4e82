"""`create_task_group`: a task group whose tasks cost what the loop's own cost.

anyio (4.14 and later) wraps every task it starts in a `TaskHandle` with a cancel scope and an
event of its own, about 1.5 KiB and a few µs per task; the library's long-lived tasks (a
session's supervisor, a connection's reader) would keep that for their whole life, and a ping
that must wait for the socket would pay it each time. On Trio this group is a plain
``trio.Nursery``; on asyncio it is anyio's task group, unchanged.

Only what the library uses is offered: `start_soon`, `start` (the task gets a
``task_status`` with ``started()``), and `cancel_scope.cancel()`. Errors leave the block as an
exception group in both cases (the callers collapse groups); a group holding nothing but
cancellations is Trio's to handle, as it would be for any nursery.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeAlias

import anyio
import anyio.abc
import trio

from ._select import current_backend

__all__ = ["TaskGroup", "create_task_group"]


class _TrioTaskGroup:
    """A ``trio.Nursery`` behind the surface of anyio's task group that the library uses."""

    __slots__ = ("_manager", "_nursery")

    def __init__(self) -> None:
        self._manager = trio.open_nursery()
        self._nursery: trio.Nursery | None = None

    @property
    def cancel_scope(self) -> trio.CancelScope:
        assert self._nursery is not None, "the task group is not open"
        return self._nursery.cancel_scope

    def start_soon(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        if self._nursery is None:
            raise RuntimeError("This task group is not active; no new tasks can be started.")
        self._nursery.start_soon(func, *args)

    async def start(self, func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
        if self._nursery is None:
            raise RuntimeError("This task group is not active; no new tasks can be started.")
        return await self._nursery.start(func, *args)

    async def __aenter__(self) -> _TrioTaskGroup:
        self._nursery = await self._manager.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            return await self._manager.__aexit__(exc_type, exc, tb)
        finally:
            self._nursery = None


TaskGroup: TypeAlias = "anyio.abc.TaskGroup | _TrioTaskGroup"
"""A task group of either loop: ``start_soon``, ``start``, ``cancel_scope.cancel()``."""


def create_task_group() -> TaskGroup:
    """A task group for the running loop (a Trio nursery on Trio, anyio's on asyncio)."""
    if current_backend() == "trio":
        return _TrioTaskGroup()
    return anyio.create_task_group()
