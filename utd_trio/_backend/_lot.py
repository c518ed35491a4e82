"""`ParkingLot`: tasks wait here until another task wakes them (the event streams' primitive).

On Trio this is ``trio.lowlevel.ParkingLot`` itself. On asyncio a list of futures does the
same job: ``park`` waits for its own future, ``unpark`` resolves the oldest one still waiting.
A list, not a deque: a lot rarely holds more than one task, and an empty deque is 0.6 KiB
(one per waiting session adds up at 10,000 sessions).
The backend is taken from the first task that parks, so a lot can be made outside a loop.
"""

from __future__ import annotations

import asyncio
import contextlib

import trio

from ._select import current_backend

__all__ = ["ParkingLot"]


class _AsyncioLot:
    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def __len__(self) -> int:
        return len(self._waiters)

    async def park(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if not waiter.done():  # cancelled while waiting: leave no stale entry behind
                waiter.cancel()
            with contextlib.suppress(ValueError):  # ValueError: unpark took it already
                self._waiters.remove(waiter)

    def unpark(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    def unpark_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class ParkingLot:
    """A fair queue of parked tasks: ``await park()``, ``unpark()``, ``unpark_all()``.

    ``bool(lot)`` is true while a task is parked, so a producer can skip the wake-up call.
    """

    __slots__ = ("_impl",)

    def __init__(self) -> None:
        self._impl: trio.lowlevel.ParkingLot | _AsyncioLot | None = None

    def __bool__(self) -> bool:
        return self._impl is not None and len(self._impl) > 0

    def __len__(self) -> int:
        return 0 if self._impl is None else len(self._impl)

    async def park(self) -> None:
        """Wait until woken by `unpark` or `unpark_all` (a checkpoint: cancellable)."""
        impl = self._impl
        if impl is None:
            impl = self._impl = (
                trio.lowlevel.ParkingLot() if current_backend() == "trio" else _AsyncioLot()
            )
        await impl.park()

    def unpark(self) -> None:
        """Wake the task that parked first, if any."""
        if self._impl is not None:
            self._impl.unpark()

    def unpark_all(self) -> None:
        """Wake every parked task."""
        if self._impl is not None:
            self._impl.unpark_all()
