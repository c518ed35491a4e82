"""Fan-out of events to subscribers (`EventStream`), each with its own bounded buffer.

Publishing never waits on a ``drop_oldest`` subscriber: when its buffer is full the oldest
event is dropped and counted. A ``block`` subscriber never loses events: the dispatcher task
waits for room, which delays event delivery but never the connection (the receive loop and the
heartbeat do not go through the dispatcher).
"""

# The hub and its streams are one mechanism: the hub feeds streams through their private
# buffer methods, which are not part of a stream's public surface.
# pyright: reportPrivateUsage=false

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from .._backend import ParkingLot
from .._events import Event
from ._event_stream import (
    EndOfStream,
    EventStream,
    EventStreamStatistics,
    Overflow,
    WouldBlock,
)

__all__ = [
    "EndOfStream",
    "EventHub",
    "EventStream",
    "EventStreamStatistics",
    "Overflow",
    "WouldBlock",
]


class EventHub:
    """The set of live streams of one session, and the dispatcher that feeds them."""

    def __init__(self, backlog: int = 1024) -> None:
        # Made with the first stream (a WeakSet is ~0.9 KiB: a session nobody reads keeps none).
        self._streams: weakref.WeakSet[EventStream[Any]] | None = None
        # Events published before anyone subscribed are held (bounded) for the first stream,
        # so that e.g. a call.incoming arriving right after connect is not lost. Buffers and
        # the dispatcher task are made on first use: an idle session holds none of them.
        self._backlog_size = backlog
        self._holding = True
        self._backlog: deque[Event] | None = None
        # Publish-path cache of the stream set, rebuilt only when it changes (subscribe,
        # discard, a stream collected): weak references, so an abandoned stream still dies.
        self._refs: tuple[weakref.ref[EventStream[Any]], ...] | None = None
        self._any_block = False
        self._pending: deque[Event] | None = None
        self._wake = ParkingLot()
        self._spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], object] | None = None
        self._dispatching = False
        self._closed = False
        self.published = 0

    def attach(self, spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], object]) -> None:
        """Where to start the dispatcher task (e.g. a task group's ``start_soon``).

        The task starts with the first event that has to wait for it — only a ``block``
        stream makes one wait — so a session without such a stream runs no dispatcher.
        """
        self._spawn = spawn

    def _start_dispatcher(self) -> None:
        spawn = self._spawn
        if spawn is None or self._dispatching:
            return
        try:
            spawn(self.run_dispatcher)
        except RuntimeError:  # the session's task group has ended: `close` delivers
            self._spawn = None
            return
        self._dispatching = True

    def subscribe(
        self,
        types: Iterable[type[Event]],
        *,
        buffer: int,
        overflow: Overflow,
        where: Callable[[Event], bool] | None = None,
    ) -> EventStream[Event]:
        """A new stream that receives every event published from now on.

        The first stream ever created also receives the events published before it (up to
        the hub's backlog size, oldest dropped first), so nothing is lost between
        ``open_signaling`` returning and the first ``events()`` call.
        """
        kinds = tuple(types)
        for kind in kinds:
            if not (isinstance(kind, type) and issubclass(kind, Event)):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ValueError(f"events() takes Event classes, got {kind!r}")
        stream: EventStream[Event] = EventStream._create(self, kinds, buffer, overflow, where)
        if self._holding:
            held, self._backlog, self._holding = self._backlog or (), None, False
            for event in held:
                if stream._wants(event):
                    stream._put_nowait(event)
        if self._closed:
            stream.close()
        else:
            if self._streams is None:
                self._streams = weakref.WeakSet()
            self._streams.add(stream)
            self._refs = None
        return stream

    def discard(self, stream: EventStream[Any]) -> None:
        """Forget a closed stream."""
        if self._streams is not None:
            self._streams.discard(stream)
        self._refs = None

    def _stream_died(self, _ref: weakref.ref[EventStream[Any]]) -> None:
        self._refs = None

    def _snapshot(self) -> tuple[weakref.ref[EventStream[Any]], ...]:
        streams = list(self._streams or ())
        refs = tuple(weakref.ref(s, self._stream_died) for s in streams)
        self._refs = refs
        self._any_block = any(s.overflow == "block" for s in streams)
        return refs

    def publish(self, event: Event) -> None:
        """Queue an event for every stream; never blocks."""
        if self._closed:
            return
        self.published += 1
        if self._holding:
            if self._backlog is None:
                self._backlog = deque(maxlen=self._backlog_size)
            self._backlog.append(event)
            return
        refs = self._refs
        if refs is None:
            refs = self._snapshot()
        pending = self._pending
        if not pending and not self._any_block:
            for ref in refs:
                stream = ref()
                if stream is not None and stream._wants(event):
                    stream._put_nowait(event)
            return
        if pending is None:
            pending = self._pending = deque()
        pending.append(event)
        if self._dispatching:
            self._wake.unpark()
        else:
            self._start_dispatcher()

    def _deliver_now(self, event: Event) -> None:
        for stream in list(self._streams or ()):
            if stream._wants(event):
                stream._put_nowait(event)

    async def run_dispatcher(self) -> None:
        """Deliver queued events, waiting on ``block`` streams; runs until cancelled."""
        self._dispatching = True
        try:
            await self._dispatch()
        finally:
            self._dispatching = False

    async def _dispatch(self) -> None:
        while True:
            while not self._pending:
                await self._wake.park()
            event = self._pending.popleft()
            for stream in list(self._streams or ()):
                if not stream._wants(event):
                    continue
                if stream.overflow == "block":
                    await stream._put(event)
                else:
                    stream._put_nowait(event)

    def close(self) -> None:
        """Deliver what is still queued without waiting, then end every stream."""
        self._closed = True
        while self._pending:
            self._deliver_now(self._pending.popleft())
        self._pending = None
        for stream in list(self._streams or ()):
            stream.close()

    @property
    def stream_count(self) -> int:
        """Live streams."""
        return len(self._streams or ())

    @property
    def dropped(self) -> int:
        """Events dropped across live streams."""
        return sum(s.dropped for s in self._streams or ())
