"""`ArrivalPoller`: on Trio, one task reads every waiting plain-TCP connection, in line.

asyncio hands a connection's bytes to a callback as they arrive, and the WebSocket layer takes
whole frames there (`ByteStream.offer_arrivals`): an idle connection's pong, or the reply a
request waits for, wakes no reader task. Trio delivers bytes only to a task that reads, so each
arrival cost a wake of that connection's reader: Trio's scheduler, the resumed coroutine stack,
and an ``epoll_ctl`` to wait again. This module gives Trio the same shape:

- a connection whose reader waits on an empty socket, with a sink attached, is put in a
  level-triggered ``epoll`` set of our own (`ArrivalPoller.wait`) instead of Trio's;
- one system task per run waits on that set's descriptor; when it is readable it reads each
  ready connection once and offers the bytes to that connection's sink, which returns the
  tail it did not take. Nothing left: the reader goes on waiting, still in the set. A tail,
  the end of the stream, a read error or the sink's exception: the connection leaves the set
  and its reader is rescheduled with that outcome;
- cancelling the reader takes its connection out of the set; closing the stream
  (`ArrivalPoller.closing`) wakes its reader with `StreamBroken` first, as Trio's own
  ``notify_closing`` does for Trio's waits.

So the sink sees bytes only while the reader waits with nothing read before them: the same
rule, and the same order of bytes, as on asyncio. The task runs only while some connection has
a sink attached (`attach` / `detach`) or a read still waits; then it ends, and the next
attach starts it again. A sink removed while its read waits is not called again: the next
arrival goes to the read whole. Linux only (``select.epoll``): elsewhere `available` is False
and readers wait as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import select
from collections.abc import Callable
from typing import Final, Protocol

import outcome
import trio

from ._streams_base import StreamBroken

__all__ = ["ArrivalPoller", "Reader", "arrival_poller", "available"]

Sink = Callable[[bytes], bytes]


class Reader(Protocol):
    """What waits in the set: a stream, asked for its sink at every arrival."""

    @property
    def arrival_sink(self) -> Sink | None:
        """The sink now; None: hand every arrival to the waiting read as it is."""


available: Final = hasattr(select, "epoll")
"""Whether this platform has the level-triggered poll set the poller needs."""


class _Waiting:
    __slots__ = ("max_bytes", "reader", "task")

    def __init__(self, task: trio.lowlevel.Task, reader: Reader, max_bytes: int) -> None:
        self.task = task
        self.reader = reader
        self.max_bytes = max_bytes


class ArrivalPoller:
    """The poll set of one Trio run. Get it with `arrival_poller`."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._waiting: dict[int, _Waiting] = {}
        self._attached = 0
        self._scope: trio.CancelScope | None = None

    @property
    def waiting(self) -> int:
        """How many readers wait in the set now."""
        return len(self._waiting)

    def attach(self) -> None:
        """A connection will wait here: run the task (start it if it is not running)."""
        self._attached += 1
        if self._epoll is None:
            self._epoll = select.epoll()
            trio.lowlevel.spawn_system_task(
                self._run, name="utd_trio arrival poller", context=contextvars.Context()
            )

    def detach(self) -> None:
        """A connection will not wait here again: with none left, end the task."""
        self._attached -= 1
        if self._attached == 0 and self._scope is not None:
            self._scope.cancel()

    async def wait(self, fd: int, reader: Reader, max_bytes: int) -> bytes:
        """Wait until ``fd`` has bytes its sink leaves (returned), or its end (``b""``).

        Each read takes at most ``max_bytes``; ``reader.arrival_sink`` sees every read, and
        the tail it leaves of one is returned. With no sink (removed while the read waits),
        the whole read is returned.

        Raises:
            StreamBroken: the read failed, or the stream was closed (`closing`).
            Exception: what ``sink`` raised.
        """
        epoll = self._epoll
        if epoll is None or fd in self._waiting:
            raise RuntimeError("wait() needs an attached poller and one reader per connection")
        epoll.register(fd, select.EPOLLIN)
        self._waiting[fd] = _Waiting(trio.lowlevel.current_task(), reader, max_bytes)

        def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            self._leave(fd)
            return trio.lowlevel.Abort.SUCCEEDED

        data: bytes = await trio.lowlevel.wait_task_rescheduled(abort)
        return data

    def closing(self, fd: int) -> None:
        """``fd`` is about to be closed: its waiting reader (if any) raises `StreamBroken`."""
        self._finish(fd, outcome.Error(StreamBroken("stream closed")))

    def _leave(self, fd: int) -> _Waiting | None:
        waiting = self._waiting.pop(fd, None)
        if waiting is not None and self._epoll is not None:
            with contextlib.suppress(OSError):  # closed already: the kernel dropped it
                self._epoll.unregister(fd)
        return waiting

    def _finish(self, fd: int, result: outcome.Outcome[bytes]) -> None:
        waiting = self._leave(fd)
        if waiting is not None:
            trio.lowlevel.reschedule(waiting.task, result)

    async def _run(self) -> None:
        epoll = self._epoll
        assert epoll is not None
        try:
            while self._attached or self._waiting:
                with trio.CancelScope() as self._scope:
                    await trio.lowlevel.wait_readable(epoll.fileno())
                self._scope = None
                for fd, _ in epoll.poll(0):
                    self._take(fd)
        finally:
            self._scope = None
            self._epoll = None
            for fd in list(self._waiting):  # none, unless the run itself is ending
                self.closing(fd)
            trio.lowlevel.notify_closing(epoll.fileno())
            epoll.close()

    def _take(self, fd: int) -> None:
        waiting = self._waiting.get(fd)
        if waiting is None:
            return  # left the set since the poll (cancelled, closed, finished)
        try:
            data = os.read(fd, waiting.max_bytes)
        except BlockingIOError:
            return
        except OSError as exc:
            broken = StreamBroken(str(exc))
            broken.__cause__ = exc
            self._finish(fd, outcome.Error(broken))
            return
        if not data:
            self._finish(fd, outcome.Value(b""))
            return
        sink = waiting.reader.arrival_sink
        if sink is None:
            self._finish(fd, outcome.Value(data))
            return
        try:
            rest = sink(data)
        except Exception as exc:  # the reader's own failure: it raises it, as it would have
            self._finish(fd, outcome.Error(exc))
            return
        if rest:
            self._finish(fd, outcome.Value(rest))


_poller: Final = trio.lowlevel.RunVar[ArrivalPoller]("utd_trio_arrival_poller")


def arrival_poller() -> ArrivalPoller:
    """The running Trio run's poller (made on first use)."""
    try:
        return _poller.get()
    except LookupError:
        poller = ArrivalPoller()
        _poller.set(poller)
        return poller
