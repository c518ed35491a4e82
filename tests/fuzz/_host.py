"""One reference engine per test module, in its own thread, shared by every Hypothesis example.

Hypothesis runs each example of an ``async`` test in a fresh ``trio.run`` (pytest-trio), which
would mean a fresh engine per example. Instead the engine (and the raw clients that poke it)
live in a Trio loop on a background thread; the synchronous ``@given`` test hands each example
to that loop with ``host.run(async_fn, ...)``. Every example runs under ``trio.fail_after``, so
a hang is a failure, not a stuck suite.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import trio

from utd_trio.testing import Engine, open_engine

T = TypeVar("T")

CASE_TIMEOUT = 10.0
"""Seconds one fuzz example may take (a hang fails the example)."""


class EngineHost:
    """A running engine plus an ``httpx.AsyncClient`` on it, inside a Trio loop on a thread."""

    def __init__(self, **engine_kwargs: Any) -> None:
        self._kwargs = engine_kwargs
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fuzz-engine", daemon=True)
        self.engine: Engine
        self.http: httpx.AsyncClient
        self.nursery: trio.Nursery
        """Lives as long as the engine: for connections kept across examples."""
        self.state: dict[str, Any] = {}
        """Scratch space for the test (e.g. a reusable WebSocket), owned by the loop."""

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:  # reported by start()/stop()
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._stop = trio.Event()
        async with open_engine(**self._kwargs) as engine:
            async with (
                httpx.AsyncClient(base_url=engine.base_url, timeout=CASE_TIMEOUT) as http,
                trio.open_nursery() as nursery,
            ):
                self.engine, self.http, self.nursery = engine, http, nursery
                self._token = trio.lowlevel.current_trio_token()
                self._ready.set()
                await self._stop.wait()
                nursery.cancel_scope.cancel()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30) or self._error is not None:
            raise RuntimeError(f"engine thread did not start: {self._error!r}")

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await fn(*args)`` in the engine's loop under ``fail_after(CASE_TIMEOUT)``."""

        async def bounded() -> T:
            with trio.fail_after(CASE_TIMEOUT):
                return await fn(*args)

        assert self._token is not None
        return trio.from_thread.run(bounded, trio_token=self._token)

    def stop(self) -> None:
        if self._token is not None and self._stop is not None:
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(30)
        if self._error is not None:
            raise self._error


@contextmanager
def engine_host(**engine_kwargs: Any) -> Iterator[EngineHost]:
    host = EngineHost(**engine_kwargs)
    host.start()
    try:
        yield host
    finally:
        host.stop()
