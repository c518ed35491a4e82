"""Which event loop is running: decided once per call site that needs it, never guessed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

import sniffio
import trio

__all__ = ["Backend", "current_backend", "current_clock", "running_asyncio_loop"]

Backend = Literal["trio", "asyncio"]


def current_backend() -> Backend:
    """``"trio"`` or ``"asyncio"`` (uvloop included), from inside a running loop.

    Raises:
        RuntimeError: called outside a running loop, or under another async library.
    """
    try:
        name = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        # A callback of the asyncio loop (a transport's ``data_received``) runs in no task,
        # where sniffio finds nothing; the running loop still says which it is.
        if running_asyncio_loop() is not None:
            return "asyncio"
        raise RuntimeError(
            "utd_trio must be used from async code running under trio.run() or asyncio.run()"
        ) from None
    if name == "trio":
        return "trio"
    if name == "asyncio":
        return "asyncio"
    raise RuntimeError(f"utd_trio runs under trio or asyncio, not {name!r}")


def running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running in this thread, else None: one C call, for hot paths.

    None under Trio (no asyncio loop runs in its thread); a hot path that gets None still
    calls `current_backend` to fail clearly outside both loops.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def current_clock() -> Callable[[], float]:
    """The running loop's clock, the one ``anyio.current_time()`` reads, without its lookup.

    The run's clock's ``current_time`` on Trio (what ``trio.current_time`` calls through two
    wrappers; ``autojump_clock`` drives it), the loop's ``time`` on asyncio. A hot path keeps
    the function and calls it per burst.
    """
    if current_backend() == "trio":
        return trio.lowlevel.current_clock().current_time
    return asyncio.get_running_loop().time
