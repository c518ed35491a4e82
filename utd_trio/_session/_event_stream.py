"""`EventStream`: one subscriber of a session's events, with its own bounded buffer.

A ``drop_oldest`` stream drops and counts its oldest event when full; a ``block`` stream never
loses one (the hub's dispatcher waits for room). The hub that feeds streams is `_fanout`.
"""

# The hub and its streams are one mechanism: the hub feeds streams through their private
# buffer methods, which are not part of a stream's public surface.
# pyright: reportPrivateUsage=false

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, Self, TypeVar

import anyio
import trio

from .._backend import ParkingLot
from .._events import Event

if TYPE_CHECKING:
    from ._fanout import EventHub

__all__ = [
    "EndOfStream",
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
        self._lot = ParkingLot()  # consumers wait here for an event
        self._room = ParkingLot()  # a ``block`` publisher waits here for room
        # How many wait in each: read on every event, so a plain count, not ``bool(lot)``.
        self._readers = 0
        self._writers = 0
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
        queue = self._queue
        if len(queue) >= self._buffer:  # `_full`, written out: every event passes here
            queue.popleft()
            self._dropped += 1
        queue.append(event)
        if self._readers:  # a waiting consumer; skip the call when nobody is parked
            self._lot.unpark()

    async def _put(self, event: Event) -> None:
        """Enqueue, waiting for room (``block`` policy)."""
        while self._full and not self._closed:
            await self._wait_for_room()
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
            await self._wait_for_event()
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
        if self._writers:
            self._room.unpark()
        self._delivered += 1
        return event  # type: ignore[return-value]  # the type filter guarantees E

    async def _wait_for_event(self) -> None:
        self._readers += 1
        try:
            await self._lot.park()
        finally:
            self._readers -= 1

    async def _wait_for_room(self) -> None:
        self._writers += 1
        try:
            await self._room.park()
        finally:
            self._writers -= 1

    async def aclose(self) -> None:
        """Close the stream (as `close`; for ``contextlib.aclosing`` and the like)."""
        self.close()

    def __aiter__(self) -> AsyncIterator[E]:
        return self

    async def __anext__(self) -> E:
        # `receive`'s wait, ending the iteration itself: no call and no exception to
        # translate on the consumer's side of every event.
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            await self._wait_for_event()
        return self._take()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
