"""An idle session holds no buffers and runs no dispatcher it does not need (issue 18)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import pytest

from utd_trio import Disconnected, Event
from utd_trio._session._fanout import EventHub

pytestmark = pytest.mark.both_loops


def event(i: int) -> Disconnected:
    return Disconnected(1000 + i, "test", will_retry=False)


def code(ev: Event) -> int | None:
    assert isinstance(ev, Disconnected)
    return ev.code


class Spawner:
    """Records what the hub asks to start (``start_soon``'s shape)."""

    def __init__(self) -> None:
        self.started: list[Callable[[], Coroutine[Any, Any, None]]] = []

    def __call__(self, func: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.started.append(func)


def test_no_buffer_until_the_first_event_and_the_backlog_still_reaches_the_first_stream() -> None:
    hub = EventHub(backlog=2)
    assert hub._backlog is None  # pyright: ignore[reportPrivateUsage]
    assert hub._pending is None  # pyright: ignore[reportPrivateUsage]
    for i in range(3):
        hub.publish(event(i))
    stream = hub.subscribe((), buffer=8, overflow="drop_oldest")
    assert [code(stream.receive_nowait()) for _ in range(2)] == [1001, 1002]  # oldest dropped
    hub.publish(event(3))
    assert code(stream.receive_nowait()) == 1003
    assert hub._pending is None  # pyright: ignore[reportPrivateUsage]


def test_a_stream_subscribed_before_any_event_gets_them_all() -> None:
    hub = EventHub()
    stream = hub.subscribe((), buffer=8, overflow="drop_oldest")
    hub.publish(event(0))
    assert code(stream.receive_nowait()) == 1000


def test_the_dispatcher_starts_only_for_a_block_stream_and_only_once() -> None:
    hub = EventHub()
    spawn = Spawner()
    hub.attach(spawn)
    keep = hub.subscribe((), buffer=4, overflow="drop_oldest")
    hub.publish(event(0))
    assert spawn.started == []  # delivered in the publish, no task
    assert code(keep.receive_nowait()) == 1000
    slow = hub.subscribe((), buffer=1, overflow="block")
    hub.publish(event(1))
    hub.publish(event(2))
    assert len(spawn.started) == 1
    assert slow.statistics().buffered == 0  # waiting for the dispatcher


def test_a_hub_whose_task_group_has_ended_delivers_at_close() -> None:
    def ended(_func: Callable[[], Coroutine[Any, Any, None]]) -> None:
        raise RuntimeError("task group is closed")

    hub = EventHub()
    hub.attach(ended)
    stream = hub.subscribe((), buffer=4, overflow="block")
    hub.publish(event(0))
    hub.close()
    assert code(stream.receive_nowait()) == 1000


async def test_the_lazily_started_dispatcher_feeds_a_block_stream() -> None:
    hub = EventHub()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            hub.attach(tasks.start_soon)
            stream = hub.subscribe((), buffer=1, overflow="block")
            for i in range(3):
                hub.publish(event(i))
            assert [code(await stream.receive()) for _ in range(3)] == [1000, 1001, 1002]
            tasks.cancel_scope.cancel()
