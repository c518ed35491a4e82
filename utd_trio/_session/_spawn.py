"""Where a connect hook may start tasks later: the live connection's task group.

The supervisor sets `generation_spawner` around the start of each connection's hooks; a hook
that has nothing to do yet returns, keeping the spawner to start its task when work comes (the
session's `Ticker` does this). Such tasks end with the connection.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

__all__ = ["Spawn", "generation_spawn", "generation_spawner"]

Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], object]
"""Starts a task (a task group's ``start_soon``)."""

generation_spawn: ContextVar[Spawn | None] = ContextVar("utd_generation_spawn", default=None)
"""Set by the supervisor while it starts a connection's hooks (each copies the context)."""


def generation_spawner() -> Spawn | None:
    """Within a connect hook: start tasks in this connection's task group, on demand.

    Starting one after the connection ended raises `RuntimeError`. None outside a connect
    hook.
    """
    return generation_spawn.get()
