"""One session request across connections, without I/O (contract §5, §8).

A session request has one deadline, however many connections it takes. `RequestPlan` holds
it and decides, when an attempt fails, whether the request goes out again:

- while no connection is up, the shell waits for one until ``deadline`` (then TIMEOUT);
- each attempt gets what is left of the deadline (`remaining`);
- an attempt whose connection died before the reply (NETWORK on a closed connection) is sent
  again on the next connection if the request is ``idempotent`` (``message.send`` is, by its
  ``client_id``; presence and receipt marks are) and the session is not over; any other
  failure — an error reply, a timeout, a non-idempotent request — is final.

The shell (`SessionCore.request`) waits for connections, sends, and asks `retry` on failure.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import ErrorCode, UTDStreamError

__all__ = ["RequestPlan"]


@dataclass(slots=True)
class RequestPlan:
    """The deadline and the resend decision of one session request."""

    event: str
    deadline: float
    idempotent: bool = False
    attempts: int = 0
    """How many times the request went out so far."""

    @classmethod
    def start(cls, event: str, now: float, timeout: float, *, idempotent: bool) -> RequestPlan:
        """A request made at ``now`` that must be answered within ``timeout`` seconds."""
        return cls(event, now + timeout, idempotent)

    def remaining(self, now: float) -> float:
        """The time the next attempt has (never negative); counts the attempt."""
        self.attempts += 1
        return max(self.deadline - now, 0.0)

    @property
    def resending(self) -> bool:
        """Whether the attempt being made is a send again (not the first)."""
        return self.attempts > 1

    def retry(
        self, error: UTDStreamError, *, connection_closed: bool, session_closed: bool
    ) -> bool:
        """An attempt failed with ``error``: True to send again on the next connection."""
        lost = error.code is ErrorCode.NETWORK and connection_closed
        return lost and self.idempotent and not session_closed
