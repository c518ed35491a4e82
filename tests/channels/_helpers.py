"""Helpers of the channel tests: the next event of a kind, a backend api, quiet checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from utd_trio import Event, EventStream, UTDApi
from utd_trio.testing import Engine

Creds = Callable[..., dict[str, Any]]
E = TypeVar("E", bound=Event)


async def next_of(stream: EventStream[Event], kind: type[E]) -> E:
    """The next event of ``kind`` on ``stream`` (other kinds are skipped)."""
    async for event in stream:
        if isinstance(event, kind):
            return event
    raise AssertionError(f"stream ended before a {kind.__name__}")


async def quiet(stream: EventStream[Event], *kinds: type[Event]) -> None:
    """Nothing of ``kinds`` is on ``stream`` once every task is idle."""
    await anyio.wait_all_tasks_blocked()
    while True:
        with anyio.move_on_after(0) as scope:
            event = await stream.receive()
        if scope.cancelled_caught:
            return
        assert not isinstance(event, kinds), event


def backend(engine: Engine) -> UTDApi:
    """The customer's backend: an api holding the project's server secret."""
    project = engine.default_project
    return UTDApi(app_id=project.app_id, app_secret=project.app_secret, base_url=engine.base_url)
