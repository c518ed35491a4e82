"""Shared helpers for the connection-core tests (real engine on loopback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio

from utd_trio.testing import Engine


def _creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    """Keyword arguments of `open_signaling` for the engine's default project."""
    project = engine.default_project
    return {
        "app_id": project.app_id,
        "app_key": project.app_key,
        "user_id": user,
        "base_url": engine.base_url,
        **extra,
    }


def _task_count() -> int:
    """How many Trio tasks exist right now (walks the whole task tree)."""

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
    """``task_count()`` → how many Trio tasks exist right now."""
    return _task_count
