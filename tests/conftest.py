"""Fixtures shared by every test directory (real reference engine on loopback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio

from utd_trio.testing import Engine


def _creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    return {**engine.signaling_kwargs(user), **extra}


def _task_count() -> int:
    def walk(task: trio.lowlevel.Task) -> int:
        return 1 + sum(
            walk(child) for nursery in task.child_nurseries for child in nursery.child_tasks
        )

    return walk(trio.lowlevel.current_root_task())


@pytest.fixture
def creds() -> Callable[..., dict[str, Any]]:
    """``creds(engine, user="alice", **extra)`` → `open_signaling` keyword arguments."""
    return _creds


@pytest.fixture
def task_count() -> Callable[[], int]:
    """``task_count()`` → how many Trio tasks exist right now (the whole task tree)."""
    return _task_count
