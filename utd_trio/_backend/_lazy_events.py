"""`Latch` and `Pulse`: the two ways the library waits on an event, made only for a waiter.

An `anyio.Event` costs about 0.5 KiB on Trio (the anyio wrapper, a ``trio.Event`` and its set
of waiting tasks) and more on asyncio (an ``asyncio.Event`` keeps a deque, 0.6 KiB alone). A
session kept several for its whole life although nobody waits on most of them most of the
time; at 10,000 idle sessions that is megabytes for nothing. These two wait in a
`ParkingLot`, made on the first wait:

- `Latch`: set once, stays set (``anyio.Event`` semantics: `wait` returns at once after `set`,
  still a checkpoint);
- `Pulse`: `fire` wakes every task waiting at that moment and is then ready for the next
  waiters (a "changed" signal; the caller re-checks its condition after waking).
"""

from __future__ import annotations

import anyio.lowlevel

from ._lot import ParkingLot

__all__ = ["Latch", "Pulse"]


class Latch:
    """A one-shot flag: `set` once, `wait` until it is set."""

    __slots__ = ("_lot", "_set")

    def __init__(self) -> None:
        self._set = False
        self._lot: ParkingLot | None = None

    def set(self) -> None:
        """Set the flag and wake every waiter (idempotent)."""
        self._set = True
        if self._lot is not None:
            self._lot.unpark_all()

    def is_set(self) -> bool:
        """Whether `set` was called."""
        return self._set

    async def wait(self) -> None:
        """Return once the flag is set (at once if it is: still a checkpoint)."""
        if self._set:
            await anyio.lowlevel.checkpoint()
            return
        if self._lot is None:
            self._lot = ParkingLot()
        await self._lot.park()


class Pulse:
    """A repeatable "something changed": `fire` wakes whoever waits at that moment."""

    __slots__ = ("_lot",)

    def __init__(self) -> None:
        self._lot: ParkingLot | None = None

    def fire(self) -> None:
        """Wake every task waiting now; later waiters wait for the next `fire`."""
        if self._lot is not None:
            self._lot.unpark_all()

    async def wait(self) -> None:
        """Wait for the next `fire`."""
        if self._lot is None:
            self._lot = ParkingLot()
        await self._lot.park()
