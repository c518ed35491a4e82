"""pytest plugin (entry point ``pytest11: utd_trio``): reference-engine fixtures.

Fixtures ``utd_engine`` (plain HTTP/WS) and ``utd_engine_tls`` (HTTPS/WSS, trust it with
``engine.client_ssl_context()``) yield a running :class:`~utd_trio.testing.Engine` serving the
default project (``app_test`` / ``key_test`` / ``secret_test``). They are Trio fixtures: use
them from pytest-trio tests. The engine's dependencies are imported only when a fixture runs,
so this plugin loads even without the ``[engine]`` extra.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from utd_trio.testing._engine import Engine

__all__ = ["utd_engine", "utd_engine_tls"]

F = TypeVar("F", bound=Callable[..., Any])


def _trio_fixture(fn: F) -> F:
    # pytest-trio's trio_fixture works with and without trio_mode; fall back to a plain
    # fixture if pytest-trio is not installed (the fixture then needs another trio runner).
    try:
        pytest_trio = importlib.import_module("pytest_trio")
    except ImportError:  # pragma: no cover - depends on the install
        return cast("F", pytest.fixture(fn))
    decorate = cast("Callable[[F], F]", pytest_trio.trio_fixture)
    return decorate(fn)


@_trio_fixture
async def utd_engine() -> AsyncIterator[Engine]:
    """A running reference engine (HTTP/WS on 127.0.0.1, random port, default project)."""
    from utd_trio.testing._engine import open_engine

    async with open_engine() as engine:
        yield engine


@_trio_fixture
async def utd_engine_tls() -> AsyncIterator[Engine]:
    """A running reference engine serving HTTPS/WSS with a throwaway trustme CA."""
    from utd_trio.testing._engine import open_engine

    async with open_engine(tls=True) as engine:
        yield engine
