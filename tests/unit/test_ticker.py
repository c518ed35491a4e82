"""The session's timer (`Ticker`) runs only while the sans-IO core has a deadline (issue 18).

A `SessionProtocol` takes real ``typing`` frames; the connection's hook task group is a plain
task group, exposed the way the supervisor exposes it (`generation_spawner`).
"""

from __future__ import annotations

import json
from typing import Any, cast

import anyio
import anyio.abc
import trio.testing

from utd_trio import Event, TypingChanged
from utd_trio._protocol._codec import decode_frame
from utd_trio._protocol._session_protocol import SessionProtocol
from utd_trio._session._spawn import generation_spawn, generation_spawner
from utd_trio._session._ticker import Ticker

# The ticker is tested through its private state: whether its task runs.
# pyright: reportPrivateUsage=false

CID = "dm:alice:bob"


class Published:
    """What the ticker published, and an event for the first one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.first = anyio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.first.set()


def typing_frame(is_typing: bool) -> Any:
    data = {"conversation_id": CID, "from": "alice", "is_typing": is_typing}
    return decode_frame(json.dumps({"event": "typing", "data": data}))


def make() -> tuple[SessionProtocol, Published, Ticker]:
    protocol = SessionProtocol(backoff_base=0.5, backoff_cap=30, connect_timeout=20)
    published = Published()
    return protocol, published, Ticker(protocol, published)


async def connect(ticker: Ticker, group: anyio.abc.TaskGroup, generation: int) -> None:
    """Run the ticker's connect hook the way the supervisor does, in ``group``."""
    token = generation_spawn.set(group.start_soon)
    try:
        await ticker.connected(cast(Any, None), generation)
    finally:
        generation_spawn.reset(token)


def receive(protocol: SessionProtocol, ticker: Ticker, is_typing: bool) -> Event | None:
    """What `SessionCore.ingest` does with a frame."""
    event = protocol.receive(typing_frame(is_typing), anyio.current_time())
    ticker.changed()
    return event


async def test_no_timer_task_until_someone_types_and_none_after_they_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    protocol, published, ticker = make()
    assert generation_spawner() is None  # only inside a connection's hooks
    async with anyio.create_task_group() as hooks:
        await connect(ticker, hooks, 1)
        assert not ticker._running  # nobody types: no task
        start = anyio.current_time()
        assert receive(protocol, ticker, True) == TypingChanged(CID, "alice", is_typing=True)
        assert ticker._running
        await anyio.sleep(3)
        assert receive(protocol, ticker, True) is None  # a refresh is absorbed
        await published.first.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert not ticker._running  # nobody left: the task ended
        assert published.events == [TypingChanged(CID, "alice", is_typing=False)]
        assert anyio.current_time() - start >= 9 - 0.01  # 6 s after the refresh
        hooks.cancel_scope.cancel()


async def test_a_stop_before_the_deadline_leaves_nothing_to_expire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    protocol, published, ticker = make()
    async with anyio.create_task_group() as hooks:
        await connect(ticker, hooks, 1)
        receive(protocol, ticker, True)
        await anyio.sleep(1)
        assert receive(protocol, ticker, False) == TypingChanged(CID, "alice", is_typing=False)
        await trio.testing.wait_all_tasks_blocked()
        await anyio.sleep(10)
        assert published.events == []
        assert not ticker._running
        hooks.cancel_scope.cancel()


async def test_a_state_left_when_the_connection_ended_expires_on_the_next_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    protocol, published, ticker = make()
    async with anyio.create_task_group() as first:
        await connect(ticker, first, 1)
    # The first connection's task group has ended: an event cannot start a timer there.
    receive(protocol, ticker, True)
    assert not ticker._running
    await anyio.sleep(10)
    assert published.events == []
    async with anyio.create_task_group() as second:
        await connect(ticker, second, 2)
        await published.first.wait()  # expired at once: past its deadline
        assert published.events == [TypingChanged(CID, "alice", is_typing=False)]
