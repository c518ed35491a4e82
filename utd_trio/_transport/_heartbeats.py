"""`HeartbeatHub`: one timer per event loop for every connection's pings and silence check.

A connection needs two timers (contract §5): a ping every ``heartbeat_interval``, and the
deadline after which a silent peer is dead. Kept per connection, they cost a sleeping task, a
cancel scope and a wake-up with a cancellation per ping: at 10,000 idle sessions that was most
of the process's CPU. Here every connection of the loop registers a callback instead, and one
hub keeps a heap of when each is next due:

- the hub sleeps until the earliest entry, calls every callback that is due with ``now``, and
  files each again at the time it returns (``inf``: drop it). Pings are on a shared grid
  (`_heartbeat_grid`), so one wake-up serves every connection of a slot;
- entries are filed by due time: a heap of the distinct times, and the entries of each time in
  a list in filing order. Connections of one grid slot return the same time, so filing one
  is a dict lookup and an append, whatever the number of connections (a heap of 10,000
  entries cost ~30 tuple comparisons per ping, over memory spread across the process);
- callbacks are synchronous: a ping is written at once where the stream allows it (asyncio, Trio
  over plain TCP), and a callback hands anything that must wait to its connection's own tasks.
  So no connection can hold up another's ping, and a callback is never cancelled halfway;
- a callback that raises is logged and dropped; the hub itself never fails.

The hub runs as a task only while it has live entries: a Trio system task (the run owns it,
not a caller's nursery), or a task on the asyncio loop. It ends as soon as the last entry is
cancelled or dropped (not when that entry would have come due: a process whose sessions all
closed keeps no timer task), and the next registration starts it again. There is one hub per
running loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import logging
import math
import weakref
from collections.abc import Callable
from typing import Final

import anyio
import trio

from .._backend import current_backend, current_clock

__all__ = ["Beat", "HeartbeatHub", "heartbeat_hub"]

log = logging.getLogger("utd_trio.heartbeats")

BeatCallback = Callable[[float], float]
"""Called with the loop's time when due; returns when it is next due (``inf``: never)."""


class Beat:
    """One registration with the hub; `cancel` takes it off (at once, whatever is due)."""

    __slots__ = ("_hub", "callback")

    def __init__(self, hub: HeartbeatHub, callback: BeatCallback) -> None:
        self._hub = hub
        self.callback: BeatCallback | None = callback

    def cancel(self) -> None:
        """Never call the callback again (the hub drops the entry when it comes up)."""
        if self.callback is not None:
            self.callback = None
            self._hub._gone()  # pyright: ignore[reportPrivateUsage]


class HeartbeatHub:
    """The timer of every connection on one event loop. Get it with `heartbeat_hub`."""

    def __init__(self, start: Callable[[HeartbeatHub], None]) -> None:
        self._start = start
        self._clock = current_clock()
        self._times: list[float] = []  # a heap of the distinct due times of `_due`
        self._due: dict[float, list[Beat]] = {}  # due time -> its entries, in filing order
        self._running = False
        self._nap: anyio.CancelScope | None = None
        self._live = 0  # entries not cancelled or dropped

    def __len__(self) -> int:
        return self._live

    def add(self, callback: BeatCallback, when: float) -> Beat:
        """Call ``callback(now)`` at ``when``, then whenever its return value says."""
        beat = Beat(self, callback)
        self._live += 1
        self._push(when, beat)
        if not self._running:
            self._running = True
            self._start(self)
        elif self._nap is not None and when < self._nap.deadline:
            self._nap.deadline = when
        return beat

    def _push(self, when: float, beat: Beat) -> None:
        entries = self._due.get(when)
        if entries is None:
            self._due[when] = [beat]
            heapq.heappush(self._times, when)
        else:
            entries.append(beat)

    def _gone(self) -> None:
        """An entry was cancelled or dropped: with none left, wake the hub so that it ends."""
        self._live -= 1
        if self._live == 0 and self._nap is not None:
            self._nap.cancel()

    async def run(self) -> None:
        """Sleep until the earliest entry, call what is due, again; end when none is live."""
        times = self._times
        try:
            while self._live:
                with anyio.CancelScope(deadline=times[0]) as nap:
                    self._nap = nap
                    await anyio.sleep_forever()
                self._nap = None
                self._call_due(self._clock())
            times.clear()  # only cancelled entries are left
            self._due.clear()
        finally:
            self._nap = None
            self._running = False

    def _call_due(self, now: float) -> None:
        times = self._times
        pop = self._due.pop
        due: list[Beat] = []
        while times and times[0] <= now:
            due += pop(heapq.heappop(times))
        # Each due entry once per pass, even one that answers a time already past.
        for beat in due:
            callback = beat.callback
            if callback is None:
                continue
            try:
                when = callback(now)
            except Exception:
                log.exception("heartbeat callback %r failed; dropped", callback)
                beat.cancel()
                continue
            if beat.callback is None:
                continue  # the callback cancelled its own beat
            if when < math.inf:
                self._push(when, beat)
            else:
                beat.cancel()


_trio_hub: Final = trio.lowlevel.RunVar[HeartbeatHub]("utd_trio_heartbeat_hub")
_asyncio_hubs: Final = weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HeartbeatHub]()
_asyncio_tasks: Final = weakref.WeakKeyDictionary[HeartbeatHub, "asyncio.Task[None]"]()


def heartbeat_hub() -> HeartbeatHub:
    """The running loop's hub (made on first use)."""
    if current_backend() == "trio":
        try:
            return _trio_hub.get()
        except LookupError:
            hub = HeartbeatHub(_start_trio)
            _trio_hub.set(hub)
            return hub
    loop = asyncio.get_running_loop()
    found = _asyncio_hubs.get(loop)
    if found is None:
        found = _asyncio_hubs[loop] = HeartbeatHub(_start_asyncio)
    return found


def _start_trio(hub: HeartbeatHub) -> None:
    # A fresh context: the hub serves every session, it inherits nothing from the first.
    trio.lowlevel.spawn_system_task(
        hub.run, name="utd_trio heartbeat hub", context=contextvars.Context()
    )


def _start_asyncio(hub: HeartbeatHub) -> None:
    # The loop keeps only a weak reference to its tasks: this one is kept until it ends.
    task = asyncio.get_running_loop().create_task(
        hub.run(), name="utd_trio heartbeat hub", context=contextvars.Context()
    )
    _asyncio_tasks[hub] = task
    task.add_done_callback(lambda _t: _asyncio_tasks.pop(hub, None))
