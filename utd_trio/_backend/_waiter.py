"""`Waiter`: one task waits, with a timeout, until another sets it (a request's reply slot).

A request waits for its reply with a deadline on every call, so this is a hot path. On Trio it
is a ``trio.Event`` under ``trio.move_on_after``; on asyncio a future with a ``call_later``
timer. anyio's ``Event`` under ``move_on_after`` does the same job on both loops at about
twice the cost (two objects and a cancel scope per wait, measured ~30 µs on asyncio).
Cancellation still comes from the caller's cancel scopes: both waits are checkpoints.
The loop is told apart by a running asyncio loop in the thread (a C call), so Trio in
guest mode on top of asyncio is not supported here (nor anywhere in the library).
"""

from __future__ import annotations

import asyncio

import trio

from ._select import current_backend, running_asyncio_loop

__all__ = ["Waiter"]


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Waiter:
    """Set once by anyone; waited on by one task at a time."""

    __slots__ = ("_asyncio", "_event", "_set")

    def __init__(self) -> None:
        self._set = False
        self._event: trio.Event | None = None
        self._asyncio: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        """Whether `set` was called."""
        return self._set

    def set(self) -> None:
        """Wake the waiting task, now or whenever it starts waiting."""
        if self._set:
            return
        self._set = True
        if self._event is not None:
            self._event.set()
        if self._asyncio is not None and not self._asyncio.done():
            self._asyncio.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """Wait until set or ``timeout`` seconds passed; True when set."""
        loop = running_asyncio_loop()
        if loop is None:
            current_backend()  # raises a clear error outside trio and asyncio
            if self._set:
                await trio.lowlevel.checkpoint()
                return True
            event = self._event = trio.Event()
            with trio.move_on_after(timeout):
                await event.wait()
            return self._set
        if self._set:
            await asyncio.sleep(0)
            return True
        future = self._asyncio = loop.create_future()
        timer = loop.call_later(timeout, _expire, future)
        try:
            await future
        finally:
            timer.cancel()
            self._asyncio = None
        return self._set
