"""The engine's wall clock: the one source of ``server_time`` / ``created_at`` / ``last_seen_at``.

Timers never use it: they run on the event loop's clock (``anyio.current_time()``, which under
Trio is trio's clock, so ``autojump_clock`` drives them); it only stamps wall-clock times onto
the wire, and tests can move it with an offset.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["WallClock", "format_timestamp", "system_now"]


def system_now() -> datetime:
    """Return the current UTC time (the default time source)."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format ``moment`` as ISO-8601 UTC with milliseconds and ``Z``.

    Naive datetimes are taken as UTC. Example: ``2026-11-24T09:24:12.508Z``.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class WallClock:
    """A wall clock made of an injectable time source plus an adjustable offset."""

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source: Callable[[], datetime] = source or system_now
        self._offset = timedelta()

    def now(self) -> datetime:
        """Return the engine's current wall-clock time (timezone-aware, UTC)."""
        moment = self._source()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment + self._offset).astimezone(UTC)

    def timestamp(self) -> str:
        """Return :meth:`now` formatted for the wire."""
        return format_timestamp(self.now())

    def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds`` (may be negative)."""
        self._offset += timedelta(seconds=seconds)

    @property
    def offset(self) -> timedelta:
        """The total offset added by :meth:`advance`."""
        return self._offset
