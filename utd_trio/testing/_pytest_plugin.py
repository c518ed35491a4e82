"""pytest plugin (entry point ``pytest11: utd_trio``): reference-engine fixtures.

Fixtures ``utd_engine`` (plain HTTP/WS) and ``utd_engine_tls`` (HTTPS/WSS, trust it with
``engine.client_ssl_context()``) yield a running :class:`~utd_trio.testing.Engine` serving the
default project (``app_test`` / ``key_test`` / ``secret_test``), started in the event loop of
the test that asks for them:

- a pytest-trio test (marked ``trio``, or any ``async def`` test under ``trio_mode = true``):
  a Trio fixture, as with pytest-trio's ``trio_fixture`` (``autojump_clock`` drives the
  engine's timers);
- an anyio test (marked ``anyio``; ``anyio_backend`` ``"trio"`` or ``"asyncio"``, uvloop with
  ``("asyncio", {"use_uvloop": True})``): run by anyio's plugin in the test's runner;
- a pytest-asyncio test (marked ``asyncio``, strict or auto mode): run on the loop of the
  test's ``loop_scope``; the engine lives in a task of its own there, because pytest-asyncio
  sets a fixture up and tears it down in two different tasks.

Each name serves all three kinds: the public fixtures are plain functions that look at the
requesting test's marker and hand over to one private async fixture per runner. pytest-trio
decides first (under ``trio_mode`` it claims every ``async def`` test, ``anyio`` or not).
A synchronous test that asks for one fails with a message naming the three runners. The
engine's dependencies are imported only when a fixture runs, so this plugin loads even without
the ``[engine]`` extra.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from utd_trio.testing._engine import Engine

__all__ = ["utd_engine", "utd_engine_tls"]

F = TypeVar("F", bound=Callable[..., Any])

LOOP_SCOPES: Final = ("function", "class", "module", "package", "session")
"""pytest-asyncio loop scopes; one private engine fixture per scope, so the engine runs on the
loop of the test that asked for it."""


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - depends on the install
        return None


_pytest_trio = _optional("pytest_trio")
_pytest_asyncio = _optional("pytest_asyncio")


def _trio_fixture(fn: F) -> F:
    # pytest-trio's trio_fixture works with and without trio_mode; fall back to a plain
    # fixture if pytest-trio is not installed (the fixture then needs another trio runner).
    if _pytest_trio is None:  # pragma: no cover - depends on the install
        return cast("F", pytest.fixture(fn))
    decorate = cast("Callable[[F], F]", _pytest_trio.trio_fixture)
    return decorate(fn)


def _open_engine(*, tls: bool) -> AbstractAsyncContextManager[Engine]:
    from utd_trio.testing._engine import open_engine

    return open_engine(tls=tls)


@_trio_fixture
async def _utd_engine_trio() -> AsyncGenerator[Engine]:
    """``utd_engine`` for a pytest-trio test."""
    async with _open_engine(tls=False) as engine:
        yield engine


@_trio_fixture
async def _utd_engine_tls_trio() -> AsyncGenerator[Engine]:
    """``utd_engine_tls`` for a pytest-trio test."""
    async with _open_engine(tls=True) as engine:
        yield engine


@pytest.fixture
async def _utd_engine_anyio(anyio_backend: object) -> AsyncGenerator[Engine]:
    """``utd_engine`` for an anyio test (run by anyio's plugin on ``anyio_backend``)."""
    del anyio_backend
    async with _open_engine(tls=False) as engine:
        yield engine


@pytest.fixture
async def _utd_engine_tls_anyio(anyio_backend: object) -> AsyncGenerator[Engine]:
    """``utd_engine_tls`` for an anyio test (run by anyio's plugin on ``anyio_backend``)."""
    del anyio_backend
    async with _open_engine(tls=True) as engine:
        yield engine


@asynccontextmanager
async def _hosted_engine(*, tls: bool) -> AsyncGenerator[Engine]:
    """``open_engine()`` in a task of its own, stopped and awaited on teardown.

    pytest-asyncio runs an async fixture's setup and its teardown in two tasks; the engine's
    task group must be entered and left by one task.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    ready: asyncio.Future[Engine] = loop.create_future()
    stop = asyncio.Event()

    async def host() -> None:
        async with _open_engine(tls=tls) as engine:
            ready.set_result(engine)
            await stop.wait()

    task = loop.create_task(host(), name="utd_trio engine")
    either: list[asyncio.Future[Any]] = [ready, task]
    try:
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        raise
    if not ready.done():
        await task  # raises the engine's startup error
        raise RuntimeError("the reference engine stopped before it started")
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


def _asyncio_name(tls: bool, loop_scope: str) -> str:
    return f"_utd_engine{'_tls' if tls else ''}_asyncio_{loop_scope}"


def _asyncio_fixture(tls: bool, loop_scope: str) -> object:
    assert _pytest_asyncio is not None

    async def fixture() -> AsyncGenerator[Engine]:
        async with _hosted_engine(tls=tls) as engine:
            yield engine

    fixture.__doc__ = f"``utd_engine{'_tls' if tls else ''}`` for pytest-asyncio ({loop_scope})."
    decorate = cast(
        "Callable[..., Callable[[Callable[..., object]], object]]", _pytest_asyncio.fixture
    )
    return decorate(loop_scope=loop_scope, name=_asyncio_name(tls, loop_scope))(fixture)


if _pytest_asyncio is not None:
    for _scope in LOOP_SCOPES:
        for _tls in (False, True):
            globals()[_asyncio_name(_tls, _scope)] = _asyncio_fixture(_tls, _scope)


def _asyncio_loop_scope(request: pytest.FixtureRequest, marker: pytest.Mark) -> str:
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    if scope is None:
        try:
            scope = request.config.getini("asyncio_default_test_loop_scope")
        except ValueError:  # pragma: no cover - older pytest-asyncio
            scope = None
    return str(scope or "function")


def _runner_fixture(request: pytest.FixtureRequest, *, tls: bool) -> str:
    """The private fixture that starts the engine in the requesting test's event loop."""
    base = "_utd_engine_tls" if tls else "_utd_engine"
    node = request.node
    if node.get_closest_marker("trio") is not None:
        return f"{base}_trio"
    if "anyio_backend" in request.fixturenames:
        return f"{base}_anyio"
    marker = node.get_closest_marker("asyncio")
    if marker is not None and _pytest_asyncio is not None:
        return _asyncio_name(tls, _asyncio_loop_scope(request, marker))
    pytest.fail(
        f"{request.fixturename} starts the reference engine in the event loop of the test: "
        "use it from an async test run by pytest-trio (mark 'trio' or trio_mode), anyio "
        "(mark 'anyio') or pytest-asyncio (mark 'asyncio')",
        pytrace=False,
    )


@pytest.fixture
def utd_engine(request: pytest.FixtureRequest) -> Engine:
    """A running reference engine (HTTP/WS on 127.0.0.1, random port, default project).

    Serves pytest-trio, anyio (trio or asyncio backend) and pytest-asyncio tests alike: the
    engine runs in the requesting test's event loop (module docstring).
    """
    return cast("Engine", request.getfixturevalue(_runner_fixture(request, tls=False)))


@pytest.fixture
def utd_engine_tls(request: pytest.FixtureRequest) -> Engine:
    """A running reference engine serving HTTPS/WSS with a throwaway trustme CA.

    Trust it with ``utd_engine_tls.client_ssl_context()``. Serves the same three kinds of
    test as :func:`utd_engine`.
    """
    return cast("Engine", request.getfixturevalue(_runner_fixture(request, tls=True)))
