"""Fan-out of events to subscribers, each with its own bounded buffer.

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
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Literal, NoReturn, Self, TypeVar

import anyio
import trio

from .._backend import ParkingLot
from .._events import Event

__all__ = [
    "EndOfStream",
    "EventHub",
    "EventStream",
    "EventStreamStatistics",
    "Overflow",
    "WouldBlock",
]

Overflow = Literal["drop_oldest", "block"]
"""What a full event stream does: ``"drop_oldest"`` (drop and count the oldest event; the
default) or ``"block"`` (never drop; event delivery waits, the connection never does)."""
E = TypeVar("E", bound=Event)


class EndOfStream(anyio.EndOfStream, trio.EndOfChannel):
    """The event stream was closed and its buffer is drained.

    Both an ``anyio.EndOfStream`` and a ``trio.EndOfChannel``, so either ``except`` works.
    """


class WouldBlock(anyio.WouldBlock, trio.WouldBlock):
    """Nothing is buffered (yet): both an ``anyio.WouldBlock`` and a ``trio.WouldBlock``."""


@dataclass(frozen=True, slots=True)
class EventStreamStatistics:
    """What `EventStream.statistics` returns: a snapshot of one stream."""

    buffered: int
    """Events waiting in the buffer."""
    buffer_size: int
    """The buffer's capacity."""
    dropped: int
    """Events dropped because the buffer was full (``drop_oldest`` policy)."""
    delivered: int
    """Events handed to the consumer."""
    overflow: Overflow
    """The stream's overflow policy."""
    closed: bool
    """True once the stream was closed (it still yields what is buffered)."""


class _NoPublicConstructor(type):
    """Streams are made by ``sig.events()`` / ``ch.events()``, not by calling the class."""

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"{cls.__name__} has no public constructor: use sig.events()")

    def _create(cls, *args: Any, **kwargs: Any) -> Any:
        return super().__call__(*args, **kwargs)


class EventStream(Generic[E], metaclass=_NoPublicConstructor):
    """A subscription to a session's events: an async iterator and an async context manager.

    ``async for ev in sig.events():`` and ``async with sig.events(CallIncoming) as s:`` both
    work. Events published after the stream was created are delivered in order; the stream
    ends (iteration stops) when the session closes or the stream is closed. Made by
    ``sig.events()`` and ``ch.events()``; it has no public constructor. `statistics` tells
    how full it is and what it dropped.
    """

    def __init__(
        self,
        hub: EventHub,
        types: tuple[type[Event], ...],
        buffer: int,
        overflow: Overflow,
        where: Callable[[Event], bool] | None = None,
    ) -> None:
        if buffer < 1:
            raise ValueError(f"buffer must be >= 1, got {buffer}")
        if overflow not in ("drop_oldest", "block"):
            raise ValueError(f"overflow must be 'drop_oldest' or 'block', got {overflow!r}")
        self._hub = hub
        self._types = types
        self._where = where
        self._buffer = buffer
        self._overflow: Overflow = overflow
        self._queue: deque[Event] = deque()
        self._lot = ParkingLot()
        self._room = ParkingLot()
        self._closed = False
        self._dropped = 0
        self._delivered = 0

    def __repr__(self) -> str:
        names = ",".join(t.__name__ for t in self._types) or "all"
        return (
            f"<EventStream {names} buffered={len(self._queue)}/{self._buffer} "
            f"dropped={self._dropped} overflow={self._overflow}>"
        )

    def statistics(self) -> EventStreamStatistics:
        """A snapshot: buffered events, capacity, dropped, delivered, policy, closed."""
        return EventStreamStatistics(
            buffered=len(self._queue),
            buffer_size=self._buffer,
            dropped=self._dropped,
            delivered=self._delivered,
            overflow=self._overflow,
            closed=self._closed,
        )

    @property
    def dropped(self) -> int:
        """Events dropped so far (``statistics().dropped``)."""
        return self._dropped

    @property
    def delivered(self) -> int:
        """Events handed to the consumer so far (``statistics().delivered``)."""
        return self._delivered

    @property
    def overflow(self) -> Overflow:
        """The overflow policy: ``"drop_oldest"`` or ``"block"``."""
        return self._overflow

    def _wants(self, event: Event) -> bool:
        """True when this stream's type filter accepts ``event``."""
        if self._types and not isinstance(event, self._types):
            return False
        return self._where is None or self._where(event)

    @property
    def _full(self) -> bool:
        """True when the buffer is full."""
        return len(self._queue) >= self._buffer

    def _put_nowait(self, event: Event) -> None:
        """Enqueue without waiting; a full buffer drops its oldest event (counted)."""
        if self._closed:
            return
        if self._full:
            self._queue.popleft()
            self._dropped += 1
        self._queue.append(event)
        if self._lot:  # a waiting consumer; skip the call when nobody is parked
            self._lot.unpark()

    async def _put(self, event: Event) -> None:
        """Enqueue, waiting for room (``block`` policy)."""
        while self._full and not self._closed:
            await self._room.park()
        self._put_nowait(event)

    def close(self) -> None:
        """End the stream: iteration stops after the buffered events; publishing ignores it."""
        self._closed = True
        self._lot.unpark_all()
        self._room.unpark_all()
        self._hub.discard(self)

    async def receive(self) -> E:
        """The next event.

        Raises:
            EndOfStream: the stream was closed and its buffer is drained (also an
                ``anyio.EndOfStream`` and a ``trio.EndOfChannel``).
        """
        while not self._queue:
            if self._closed:
                raise EndOfStream
            await self._lot.park()
        return self._take()

    def receive_nowait(self) -> E:
        """The next event if one is buffered.

        Raises:
            WouldBlock: nothing is buffered (yet); also an ``anyio.WouldBlock`` and a
                ``trio.WouldBlock``.
            EndOfStream: the stream was closed and its buffer is drained.
        """
        if not self._queue:
            raise EndOfStream if self._closed else WouldBlock
        return self._take()

    def _take(self) -> E:
        event = self._queue.popleft()
        if self._room:
            self._room.unpark()
        self._delivered += 1
        return event  # type: ignore[return-value]  # the type filter guarantees E

    async def aclose(self) -> None:
        """Close the stream (as `close`; for ``contextlib.aclosing`` and the like)."""
        self.close()

    def __aiter__(self) -> AsyncIterator[E]:
        return self

    async def __anext__(self) -> E:
        try:
            return await self.receive()
        except EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
