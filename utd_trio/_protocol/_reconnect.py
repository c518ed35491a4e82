"""What to do after a connection ends or fails to open, without I/O (contract §5, §8).

`ReconnectPolicy` is the supervisor's brain: given how a generation ended (a close code, or
the error of a failed mint / socket) and the time, it answers `Retry` (after how long, and
what to report) or `Stop` (with which error). The supervisor only mints, connects, sleeps and
publishes. The rules:

- the close-code table (`decide_close`): 1000 ends nothing, 1001 / 4008 reconnect at once,
  4001 re-mints at once (a second 4001 in a row backs off), 4003 is terminal, 4029 backs off
  at least 5 s, anything else (1006, 1011, …) backs off;
- a failed mint or socket: terminal errors (banned, identity mint disabled, 4003) stop; a
  401 re-mints like 4001; ``Retry-After`` raises the floor;
- the first connection fails fast on what no retry can fix (bad credentials, invalid input,
  a protocol violation, a 404 or 501 at the mint, an unverifiable certificate, a refused
  loopback port), and gives up at ``connect_timeout`` naming the last error; later connections retry
  everything but terminal errors, without limit;
- delays: full jitter (`Backoff`), reset once a connection is established, so the first retry
  after a drop is immediate (jittered within the base).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from .._errors import ErrorCode, UnfixableTransportError, UTDStreamError
from . import _vocab as v
from ._backoff import Backoff, shared_rng
from ._classify import CloseAction, CloseDecision, close_error, decide_close
from ._connection import CloseInfo

__all__ = ["ReconnectPolicy", "Retry", "Stop"]

# Errors that no retry can fix while the first connection is being made: the caller's
# credentials or input are wrong, so `open_signaling` fails fast instead of spinning. So do
# an unverifiable certificate and a refused loopback port (`UnfixableTransportError`); later
# reconnects retry those, so an engine restart is survived.
_FATAL_AT_FIRST: Final = frozenset(
    {ErrorCode.UNAUTHORIZED, ErrorCode.INVALID, ErrorCode.PROTOCOL, ErrorCode.NOT_FOUND}
)

_NOT_IMPLEMENTED: Final = 501


@dataclass(frozen=True, slots=True)
class Retry:
    """Connect again after ``delay`` seconds; report the end as ``code`` / ``reason``."""

    delay: float
    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Stop:
    """Give up with ``error``; the supervisor raises it (after asking about a bare 4003)."""

    error: UTDStreamError


class ReconnectPolicy:
    """The reconnect decisions of one session (see the module docstring)."""

    def __init__(
        self,
        *,
        backoff_base: float,
        backoff_cap: float,
        connect_timeout: float,
        now: float,
        rng: random.Random | None = None,
    ) -> None:
        self._rng = rng or shared_rng()
        self._backoff = Backoff(base=backoff_base, cap=backoff_cap, rng=self._rng)
        self._connect_timeout = connect_timeout
        self.first_deadline: float | None = now + connect_timeout
        """Until the first connection is up: when the first connect gives up."""
        self._token_streak = False

    @property
    def first(self) -> bool:
        """True until the first connection has been established."""
        return self.first_deadline is not None

    def connected(self) -> None:
        """A connection is established: backoff starts over, the first-connect rules end."""
        self.first_deadline = None
        self._backoff.reset()

    def after_close(self, info: CloseInfo, now: float) -> Retry | Stop:
        """An established connection ended with ``info``."""
        decision = decide_close(info.code, previous_was_token_close=self._token_streak)
        self._token_streak = info.code == v.CLOSE_TOKEN_INVALID
        if decision.action is CloseAction.TERMINAL:
            return Stop(close_error(info.code, info.reason))
        return Retry(self._delay(decision, now), info.code, info.reason)

    def after_error(self, exc: UTDStreamError, now: float) -> Retry | Stop:
        """A mint or a socket failed with ``exc`` before a connection was established."""
        if self.first and _fatal_at_first(exc):
            return Stop(exc)
        decision = _decide_error(exc, self._token_streak)
        if decision.action is CloseAction.TERMINAL:
            return Stop(exc)
        self._token_streak = exc.code is ErrorCode.UNAUTHORIZED
        if self.first_deadline is not None and now >= self.first_deadline:
            return Stop(
                UTDStreamError(
                    exc.code,
                    f"no connection within {self._connect_timeout:g} s; last error: {exc.message}",
                    status=exc.status,
                    retry_after=exc.retry_after,
                )
            )
        return Retry(self._delay(decision, now), exc.status, str(exc))

    def _delay(self, decision: CloseDecision, now: float) -> float:
        if decision.action in (CloseAction.RECONNECT_NOW, CloseAction.REMINT_NOW):
            delay = max(self._rng.uniform(0.0, self._backoff.base), decision.floor)
        else:
            delay = self._backoff.next_delay(decision.floor)
        if self.first_deadline is not None:
            delay = min(delay, max(self.first_deadline - now, 0.0))
        return delay


def _fatal_at_first(exc: UTDStreamError) -> bool:
    """Whether the first connect stops at once on ``exc``: no retry can fix it.

    A 501 at the mint is no engine at all (a server that does not know the route), not a
    passing failure: it fails fast like a 404.
    """
    if isinstance(exc, UnfixableTransportError):
        return True
    if exc.code is ErrorCode.SERVER and exc.status == _NOT_IMPLEMENTED:
        return True
    return exc.code in _FATAL_AT_FIRST and exc.status != v.CLOSE_TOKEN_INVALID


def _decide_error(exc: UTDStreamError, token_streak: bool) -> CloseDecision:
    """The reconnect decision for a failed mint or a refused socket."""
    if exc.is_terminal:
        return CloseDecision(CloseAction.TERMINAL)
    if exc.code is ErrorCode.UNAUTHORIZED and exc.status in (401, v.CLOSE_TOKEN_INVALID):
        return decide_close(v.CLOSE_TOKEN_INVALID, previous_was_token_close=token_streak)
    floor = exc.retry_after or 0.0
    if exc.code is ErrorCode.RATE_LIMITED and exc.status == v.CLOSE_RATE_LIMITED:
        floor = max(floor, v.RATE_LIMIT_CLOSE_FLOOR)
    return CloseDecision(CloseAction.BACKOFF, floor=floor)
