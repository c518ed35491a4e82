"""One WebSocket connection's protocol state, without I/O (contract §5).

`ConnectionMachine` takes what happens to a connection — a request to send, an inbound message,
the passing of time, the end of the socket — and says what follows: the frame to write, the
request a reply resolves, the event to hand on, a ping to send, or that the peer is dead. It
has no socket, no clock (``now`` is passed in) and no tasks; `SignalClient` is the shell that
moves the bytes and wakes the waiters.

- Requests carry a fresh ``ref``; an ``ack`` or ``error`` with that ref resolves it (an
  ``error`` classified by §3); refs nobody waits for are ignored (an error is counted).
- ``pong`` and a repeated hello are consumed here; every other frame is an event for the
  session. Malformed messages are dropped and counted (§9).
- Liveness: any inbound message proves life. A ping is due every ``heartbeat_interval``, at
  this connection's slot of a process-wide grid (`_heartbeat_grid`: idle sessions of a
  process wake together, spread over a few slots) — `next_ping`, `ping`. No inbound message
  for ``heartbeat_interval + heartbeat_timeout`` means the peer is dead (`dead_at`,
  `dead`). The shell asks both at once (`tick`) at the times the machine names (the loop's
  `HeartbeatHub` keeps one timer for every connection), so a frame that arrives in between
  costs no timer change at all.
- When the connection ends, every request still waiting fails with NETWORK.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from .._errors import ErrorCode, UTDStreamError
from . import _vocab as v
from ._classify import classify_error_frame
from ._codec import Dropped, DropReason, Frame, encode_frame, event_key
from ._heartbeat_grid import DEFAULT_SLOTS, grid_slot, next_grid_ping
from ._hot_events import decode_inbound

__all__ = [
    "CloseInfo",
    "ConnectionMachine",
    "ConnectionStats",
    "Hello",
    "Reply",
]

_ESTABLISHED: Final = event_key(v.EV_ESTABLISHED)
_PONG: Final = event_key(v.EV_PONG)
_ACK: Final = event_key(v.EV_ACK)
_ERROR: Final = event_key(v.EV_ERROR)

_CLOCK_SLACK: Final = 1e-3  # a timer firing this early (s) counts as on time

_refs = itertools.count(1)  # refs are unique across connections of the process

# The ping frame is constant but for its ref: encoded once, as `encode_frame` would.
_PING_PREFIX, _PING_SUFFIX = encode_frame(v.REQ_PING, None, "r0").split("r0")


@dataclass(frozen=True, slots=True)
class Hello:
    """The engine's ``connection.established`` frame."""

    socket_id: str | None
    user_id: str | None
    heartbeat_interval: float
    server_time: datetime | None


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """How a connection ended: the close code (None when it died without one) and why."""

    code: int | None
    reason: str
    by_client: bool = False


@dataclass(slots=True)
class ConnectionStats:
    """Counters of one connection (or, summed by `Signaling`, of a session)."""

    frames_received: int = 0
    frames_sent: int = 0
    dropped: dict[str, int] = field(default_factory=dict[str, int])

    def count_drop(self, reason: DropReason | str) -> None:
        """Count one dropped inbound frame."""
        key = reason.value if isinstance(reason, DropReason) else reason
        self.dropped[key] = self.dropped.get(key, 0) + 1

    @property
    def dropped_total(self) -> int:
        """All dropped inbound frames."""
        return sum(self.dropped.values())


@dataclass(frozen=True, slots=True)
class Reply:
    """An inbound ``ack`` / ``error`` that resolves the request ``ref``."""

    ref: str
    data: dict[str, Any] | None = None
    error: UTDStreamError | None = None


class ConnectionMachine:
    """The protocol state of one open connection (see the module docstring)."""

    __slots__ = (
        "_heartbeat_timeout",
        "_look_step",
        "_next_ping",
        "_silence",
        "_slot",
        "_slots",
        "_waiting",
        "close_info",
        "hello",
        "last_seen",
        "stats",
    )

    def __init__(
        self,
        hello: Hello,
        *,
        heartbeat_timeout: float,
        now: float,
        stats: ConnectionStats,
        ping_slots: int = DEFAULT_SLOTS,
    ) -> None:
        self.hello = hello
        self.stats = stats
        self._heartbeat_timeout = heartbeat_timeout
        self._silence = hello.heartbeat_interval + heartbeat_timeout  # silent this long: dead
        self._waiting: set[str] = set()
        self.last_seen = now
        """The time of the last inbound message (the last proof of life)."""
        # Pings on the process-wide grid (`_heartbeat_grid`): this connection's slot of it.
        self._slots = ping_slots
        self._look_step = hello.heartbeat_interval / ping_slots  # see `_look_at_silence`
        self._slot = grid_slot(hello.socket_id or f"r{next(_refs)}", ping_slots)
        self._next_ping = self._ping_after(now)
        self.close_info: CloseInfo | None = None
        """How the connection ended, once it has."""

    # --- outbound ------------------------------------------------------------------------

    def request(self, event: str, data: Any = None) -> tuple[str, str]:
        """A new request: its ``ref`` (now awaited) and the frame to write.

        Raises:
            UTDStreamError: INVALID when the frame cannot be encoded (e.g. over 1 MiB);
                NETWORK when the connection has ended.
        """
        self._check_open()
        ref = f"r{next(_refs)}"
        text = encode_frame(event, data, ref)
        self._waiting.add(ref)
        return ref, text

    def frame(self, event: str, data: Any = None) -> str:
        """A frame that expects no reply (it still carries a fresh ``ref``, §5)."""
        self._check_open()
        return encode_frame(event, data, f"r{next(_refs)}")

    def forget(self, ref: str) -> None:
        """Nobody waits for ``ref`` any more (timed out or cancelled)."""
        self._waiting.discard(ref)

    def sent(self) -> None:
        """A frame went out."""
        self.stats.frames_sent += 1

    # --- inbound -------------------------------------------------------------------------

    def receive(self, message: str | bytes, now: float) -> Reply | Frame | None:
        """One inbound message: a `Reply` to resolve, a `Frame` for the session, or None."""
        self.last_seen = now
        self.stats.frames_received += 1
        frame = decode_inbound(message)
        if isinstance(frame, Dropped):
            self.stats.count_drop(frame.reason)
            return None
        kind = frame.event
        if kind in (_ACK, _ERROR):
            ref = frame.ref
            if ref is None or ref not in self._waiting:
                if kind == _ERROR:
                    self.stats.count_drop("error_without_request")
                return None
            self._waiting.discard(ref)
            if kind == _ERROR:
                return Reply(ref, error=classify_error_frame(frame.data))
            return Reply(ref, data=frame.data)
        if kind in (_PONG, _ESTABLISHED):
            return None
        return frame

    # --- time ----------------------------------------------------------------------------

    @property
    def dead_at(self) -> float:
        """The deadline of the shell's read: silent until then means the peer is dead."""
        return self.last_seen + self._silence

    def alive(self, now: float) -> bool:
        """Open and heard from within the heartbeat window."""
        return self.close_info is None and now < self.dead_at

    def dead(self, now: float) -> str | None:
        """Why the peer counts as dead at ``now`` (`dead_at` passed), else None.

        A timer may fire a hair before its deadline (asyncio's clock resolution): within
        ``_CLOCK_SLACK`` of the deadline counts as passed.
        """
        if now < self.dead_at - _CLOCK_SLACK:
            return None
        return f"no frame from the engine for {now - self.last_seen:.1f} s"

    def next_ping(self) -> float:
        """When the next ping is due (the heartbeat timer's only deadline)."""
        return self._next_ping

    def ping(self, now: float) -> str | None:
        """The ping frame to send if one is due at ``now`` (the schedule moves on), else None."""
        if now < self._next_ping - _CLOCK_SLACK:
            return None
        # From the due time, not `now`: a timer that fired a hair early must not ping twice.
        self._next_ping = self._ping_after(max(now, self._next_ping))
        return f"{_PING_PREFIX}r{next(_refs)}{_PING_SUFFIX}"

    def tick(self, now: float) -> tuple[str | None, str | None, float]:
        """The heartbeat timer's call at ``now``: `dead` and `ping` in one, and when to call again.

        ``(reason, None, inf)`` when the peer is dead; else ``(None, ping or None, next)``,
        ``next`` the next ping or, when the silence deadline comes first, a look at it (see
        `_look_at_silence`).
        """
        reason = self.dead(now)
        if reason is not None:
            return reason, None, math.inf
        ping = self.ping(now)
        next_ping, dead_at = self._next_ping, self.dead_at
        if next_ping <= dead_at:
            return None, ping, next_ping
        return None, ping, self._look_at_silence(now, dead_at)

    def _look_at_silence(self, now: float, dead_at: float) -> float:
        """When to look at the silence deadline ``dead_at``, which comes before the next ping.

        Every heartbeat has one such look: the ping's pong is not in yet, so the deadline is
        still the one from the last frame, and it comes before the next ping. It is nearly
        always found moved on by then. Looked at exactly, those looks would be as many timer
        wake-ups as there are connections, since each deadline is its own instant. So the
        first look is at the last multiple of the grid's slot width at or before the
        deadline: the connections of a process share those instants, one wake-up serves them
        all. A look that finds the deadline unmoved (the peer is silent) is followed by one
        at the deadline itself, so a dead peer is found at the same time as before.
        """
        step = self._look_step
        early = math.floor(dead_at / step) * step
        return early if early > now else dead_at

    def _ping_after(self, now: float) -> float:
        return next_grid_ping(now, self.hello.heartbeat_interval, self._slot, self._slots)

    # --- the end -------------------------------------------------------------------------

    def end(self, info: CloseInfo) -> tuple[list[str], UTDStreamError] | None:
        """The connection ended: the refs still waiting and the error they fail with.

        None when it had already ended (the first cause wins).
        """
        if self.close_info is not None:
            return None
        self.close_info = info
        refs, self._waiting = list(self._waiting), set()
        error = UTDStreamError(
            ErrorCode.NETWORK, f"connection lost before the reply: {info.reason}", status=info.code
        )
        return refs, error

    def _check_open(self) -> None:
        if self.close_info is not None:
            raise UTDStreamError(
                ErrorCode.NETWORK, "connection is closed", status=self.close_info.code
            )
