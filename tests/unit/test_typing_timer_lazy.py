"""The typing-expiry timer task exists only while someone is typing (issue 18).

`TypingIndicators` is driven with a stand-in for the session core; the connection's hook task
group is a plain task group, exposed the way the supervisor exposes it (`generation_spawner`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import anyio
import trio.testing

from utd_trio import Event, TypingChanged
from utd_trio._domains._typing_indicators import TypingIndicators
from utd_trio._session._core import SessionCore
from utd_trio._session._supervisor import (
    _generation_spawn,  # pyright: ignore[reportPrivateUsage]
    generation_spawner,
)

# The class is tested through its private hooks: they are what the session core calls.
# pyright: reportPrivateUsage=false

CID = "dm:alice:bob"


class FakeCore:
    """What `TypingIndicators` uses of the session core."""

    user_id = "bob"

    def __init__(self) -> None:
        self.published: list[Event] = []
        self.first_publish = anyio.Event()
        self.event_hooks: list[Callable[[Event], Event | None]] = []
        self.connect_hooks: list[Any] = []

    def add_event_hook(self, hook: Callable[[Event], Event | None], *_types: type[Event]) -> None:
        self.event_hooks.append(hook)

    def add_connect_hook(self, hook: Any) -> None:
        self.connect_hooks.append(hook)

    def publish(self, event: Event) -> None:
        self.published.append(event)
        self.first_publish.set()


def make() -> tuple[FakeCore, TypingIndicators]:
    core = FakeCore()
    return core, TypingIndicators(cast(SessionCore, core))


async def test_no_timer_task_until_someone_types_and_none_after_they_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    core, typing = make()
    assert generation_spawner() is None  # only inside a connection's hooks
    async with anyio.create_task_group() as hooks:
        token = _generation_spawn.set(hooks.start_soon)
        try:
            await typing._expire_typing(cast(Any, None), 1)
        finally:
            _generation_spawn.reset(token)
        assert not typing._timer  # nobody types: no task
        start = anyio.current_time()
        typing._on_typing_event(TypingChanged(CID, "alice", is_typing=True))
        assert typing._timer
        await anyio.sleep(3)
        typing._on_typing_event(TypingChanged(CID, "alice", is_typing=True))  # a refresh
        await core.first_publish.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert not typing._timer  # nobody left: the task ended
        assert core.published == [TypingChanged(CID, "alice", is_typing=False)]
        assert anyio.current_time() - start >= 9 - 0.01  # 6 s after the refresh
        hooks.cancel_scope.cancel()


async def test_a_state_left_when_the_connection_ended_expires_on_the_next_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    core, typing = make()
    async with anyio.create_task_group() as first:
        token = _generation_spawn.set(first.start_soon)
        await typing._expire_typing(cast(Any, None), 1)
        _generation_spawn.reset(token)
    # The first connection's task group has ended: an event cannot start a timer there.
    typing._on_typing_event(TypingChanged(CID, "alice", is_typing=True))
    assert not typing._timer
    await anyio.sleep(10)
    assert core.published == []
    async with anyio.create_task_group() as second:
        token = _generation_spawn.set(second.start_soon)
        await typing._expire_typing(cast(Any, None), 2)
        _generation_spawn.reset(token)
        await core.first_publish.wait()  # expired at once: past its deadline
        assert core.published == [TypingChanged(CID, "alice", is_typing=False)]
