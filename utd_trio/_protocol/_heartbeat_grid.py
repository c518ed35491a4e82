"""Ping times on a shared grid, so idle sessions of one process wake together (issue 18).

Every connection of a process pings at a point of one schedule instead of ``interval`` after
its own connect: the loop's clock is cut into ``interval``-long periods, each period into
``slots`` equal slots, and a connection pings at the start of its slot in every period. Sessions
that share a slot wake on the same deadline (one pass of the scheduler for all of them); the
slots spread the pings of a process over the interval, so the engine is not hit in one burst.

The next ping is the first point of the slot strictly after ``now``, so consecutive pings are
never more than ``interval`` apart (the engine's and our own liveness windows still hold); the
first ping of a connection may come sooner than ``interval`` after it opens.

Pure functions: the clock is passed in, the slot comes from a stable hash of a key (the socket
id), not from Python's per-process randomised ``hash``.
"""

from __future__ import annotations

import math
import zlib
from typing import Final

__all__ = ["DEFAULT_SLOTS", "grid_slot", "next_grid_ping"]

DEFAULT_SLOTS: Final = 16
"""Slots per heartbeat interval: at 25 s, a process's pings go out in bursts 1.6 s apart."""


def grid_slot(key: str, slots: int = DEFAULT_SLOTS) -> int:
    """The slot (``0 <= slot < slots``) of the connection named ``key``: a stable hash."""
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    return zlib.crc32(key.encode()) % slots


def next_grid_ping(now: float, interval: float, slot: int, slots: int = DEFAULT_SLOTS) -> float:
    """The first ping time of ``slot`` strictly after ``now``, in ``(now, now + interval]``.

    The grid's points are ``k * interval + slot * interval / slots`` for every integer ``k``.
    """
    if not (0 < interval < math.inf):
        raise ValueError(f"interval must be finite and > 0, got {interval}")
    if not 0 <= slot < slots:
        raise ValueError(f"slot must be in [0, {slots}), got {slot}")
    offset = slot * interval / slots
    k = math.floor((now - offset) / interval) + 1
    at = k * interval + offset
    # Float rounding at a boundary: keep the result in (now, now + interval].
    if at <= now:
        at += interval
    elif at > now + interval:
        at -= interval
    return at
