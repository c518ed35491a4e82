"""Fixtures shared by every test directory (real reference engine on loopback).

Both loops: a module (or test) marked ``both_loops`` runs each of its async tests twice, under
Trio and under asyncio, through anyio's pytest plugin (the ``anyio_backend`` fixture) instead
of pytest-trio. A test that takes ``autojump_clock`` or ``mock_clock`` needs Trio's virtual
time, so it stays a single pytest-trio test; so does a test marked ``trio_only`` (say why in
the marker's ``reason``). Such modules use anyio's API (``anyio.fail_after``,
``anyio.create_task_group``...) so the same body runs on both.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
import sniffio
import trio

from utd_trio.testing import Engine


def _creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    return {**engine.signaling_kwargs(user), **extra}


_VIRTUAL_TIME = frozenset({"autojump_clock", "mock_clock"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "both_loops: run each async test under Trio and asyncio (tests that take "
        "autojump_clock or mock_clock stay on Trio)",
    )
    config.addinivalue_line(
        "markers",
        "trio_only(reason): in a both_loops module, run this test on Trio only",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    if not (isinstance(collector, pytest.Module | pytest.Class) and callable(obj)):
        return
    if not collector.istestfunction(obj, name):
        return
    inner = getattr(getattr(obj, "hypothesis", None), "inner_test", obj)
    if not inspect.iscoroutinefunction(inner):
        return
    own = getattr(obj, "pytestmark", ())
    marked = collector.get_closest_marker("both_loops") is not None or any(
        m.name == "both_loops" for m in own
    )
    if any(m.name == "trio_only" for m in own):
        return
    if marked and not _VIRTUAL_TIME & set(inspect.signature(inner).parameters):
        pytest.mark.usefixtures("anyio_backend")(obj)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pytest-trio's trio_mode marked every async test; anyio's plugin runs these instead.
    for item in items:
        if "anyio_backend" in getattr(item, "fixturenames", ()):
            item.own_markers = [m for m in item.own_markers if m.name != "trio"]


@pytest.fixture(scope="module", params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The loop of a ``both_loops`` test: Trio first, then asyncio."""
    return str(request.param)


def _task_count() -> int:
    if sniffio.current_async_library() == "asyncio":
        return len(asyncio.all_tasks())

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
    """``task_count()`` → how many tasks exist right now (Trio's whole task tree, or asyncio's)."""
    return _task_count
