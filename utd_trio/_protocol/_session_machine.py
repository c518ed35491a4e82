"""The lifecycle of a session across its connections, without I/O (contract §5, §7, §8).

`SessionMachine` holds what the session decides about its connections: which generation is
live, how many reconnects there were, the state the user sees, the capabilities, and — via the
`ReconnectPolicy` it composes — whether a connection that ended is retried (after how long) or
the session stops (with which error). It has no socket, no clock (``now`` is passed in) and no
tasks: `SessionCore` and `Supervisor` are the shell that mints, connects, sleeps, publishes
what the machine returns and wakes the waiters.

States (``state(alive)``; ``alive`` is the live connection's proof of life, from the shell):

==============  ==========================================================================
CONNECTING      no connection established yet (generation 0)
CONNECTED       a connection is established and ``alive`` (heard from within its heartbeat)
RECONNECTING    generation ≥ 1, and the connection is gone or has lost its proof of life
CLOSED          the session is over (`finish`); nothing changes it again
==============  ==========================================================================

Inputs and outputs:

======================================  =================================================
input                                   output (what the shell does with it)
======================================  =================================================
``start(now, rng)``                     none; the first connect's deadline is
                                        ``now + connect_timeout``
``established(session, hello)``         events to publish, in order: `Connected` (only
                                        for generation > 1), `CapabilitiesChanged` (only
                                        on a change, after the first generation)
``capabilities_frame(data)``            a `CapabilitiesChanged` to publish, if any
``connection_closed(info, now)``        `Reconnect` (sleep ``delay``, publish its
                                        ``disconnected``) or `Stop` (raise its error)
``connect_failed(exc, now)``            the same, for a mint or socket that failed
``disconnected(event)``                 none; ``event`` is the last disconnect
``finish(error=None)``                  the final `Disconnected` to publish, once
                                        (1000 when the user closed it)
======================================  =================================================

Properties for the shell: ``generation``, ``reconnects``, ``last_disconnect``,
``capabilities``, ``closed_for_good`` and ``first_deadline`` (until the first connection is
up: when it gives up, which also bounds its mint and its socket's opening).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._errors import UTDStreamError
from .._events import Connected, Disconnected, Event
from .._models import Capabilities, ConnectionState, Session
from . import _vocab as v
from ._capabilities import CapabilityState
from ._connection import CloseInfo, Hello
from ._reconnect import ReconnectPolicy, Retry, Stop

__all__ = ["Reconnect", "SessionMachine", "Stop"]


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Publish ``disconnected``, then connect again after ``delay`` seconds."""

    delay: float
    disconnected: Disconnected


class SessionMachine:
    """The lifecycle decisions of one session (see the module docstring)."""

    __slots__ = (
        "_backoff_base",
        "_backoff_cap",
        "_capabilities",
        "_closed",
        "_connect_timeout",
        "_policy",
        "_up",
        "generation",
        "last_disconnect",
        "reconnects",
    )

    def __init__(self, *, backoff_base: float, backoff_cap: float, connect_timeout: float) -> None:
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._connect_timeout = connect_timeout
        self._policy: ReconnectPolicy | None = None
        self._capabilities = CapabilityState()
        self._closed = False
        self._up = False
        self.generation = 0
        """How many connections were established (1 after the first)."""
        self.reconnects = 0
        """How many of them followed a drop (``generation - 1`` once connected)."""
        self.last_disconnect: Disconnected | None = None
        """The last `Disconnected` published, if any."""

    # --- what the shell reads ----------------------------------------------------------

    def state(self, alive: bool) -> ConnectionState:
        """The state, given whether the live connection has proof of life (``alive``)."""
        if self._closed:
            return ConnectionState.CLOSED
        if self._up and alive:
            return ConnectionState.CONNECTED
        return ConnectionState.CONNECTING if self.generation == 0 else ConnectionState.RECONNECTING

    @property
    def capabilities(self) -> Capabilities:
        """The current flags and limits (None fields: unknown)."""
        return self._capabilities.current

    @property
    def closed_for_good(self) -> bool:
        """Whether the session is over (CLOSED whatever the connection says)."""
        return self._closed

    @property
    def first_deadline(self) -> float | None:
        """Until the first connection is up: when it gives up; None afterwards."""
        return self._started().first_deadline

    # --- inputs ---------------------------------------------------------------------------

    def start(self, now: float, rng: random.Random | None = None) -> None:
        """The supervisor begins at ``now``; ``rng`` draws the backoff jitter."""
        self._policy = ReconnectPolicy(
            backoff_base=self._backoff_base,
            backoff_cap=self._backoff_cap,
            connect_timeout=self._connect_timeout,
            now=now,
            rng=rng,
        )

    def established(self, session: Session, hello: Hello) -> list[Event]:
        """A new connection, opened with ``session``, said ``hello``: the events to publish.

        `open_signaling` returning *is* the first connection; `Connected` marks reconnects,
        so a stream waiting for one never receives a stale generation 1 from the backlog.
        """
        self._started().connected()
        self.generation += 1
        if self.generation > 1:
            self.reconnects += 1
        self._up = True
        changed = self._capabilities.on_session(session, self.generation)
        events: list[Event] = []
        if self.generation > 1:
            events.append(
                Connected(
                    generation=self.generation,
                    signaling_enabled=session.signaling_enabled,
                    chat_enabled=session.chat_enabled,
                    plan_limits=session.plan_limits,
                    socket_id=hello.socket_id,
                    server_time=hello.server_time,
                )
            )
        if changed is not None:
            events.append(changed)
        return events

    def capabilities_frame(self, data: Mapping[str, Any]) -> list[Event]:
        """A ``capabilities.updated`` frame's data: the `CapabilitiesChanged` to publish."""
        changed = self._capabilities.on_update(data, self.generation)
        return [] if changed is None else [changed]

    def connection_closed(self, info: CloseInfo, now: float) -> Reconnect | Stop:
        """The established connection ended with ``info`` at ``now``."""
        self._up = False
        return self._plan(self._started().after_close(info, now))

    def connect_failed(self, exc: UTDStreamError, now: float) -> Reconnect | Stop:
        """A mint or a socket failed with ``exc`` at ``now``."""
        self._up = False
        return self._plan(self._started().after_error(exc, now))

    def disconnected(self, event: Disconnected) -> None:
        """The shell published ``event`` (e.g. the session's final one): the last disconnect."""
        self._up = False
        self.last_disconnect = event

    def _close(self) -> None:
        """The session is over: CLOSED from now on."""
        self._up = False
        self._closed = True

    def finish(self, error: UTDStreamError | None = None) -> list[Event]:
        """The session ends: its final `Disconnected` to publish, or none if it already ended.

        ``error`` is what ended it (a `Stop`'s error, or a failure of the first connect);
        None means the user closed it (1000).
        """
        if self._closed:
            return []
        if error is None:
            final = Disconnected(v.CLOSE_NORMAL, "closed by the user", will_retry=False)
        else:
            final = Disconnected(error.status, error.message, will_retry=False)
        self.disconnected(final)
        self._close()
        return [final]

    # --- internals ------------------------------------------------------------------------

    def _started(self) -> ReconnectPolicy:
        policy = self._policy
        if policy is None:
            raise RuntimeError("SessionMachine.start() was not called")
        return policy

    def _plan(self, plan: Retry | Stop) -> Reconnect | Stop:
        if isinstance(plan, Stop):
            return plan
        event = Disconnected(plan.code, plan.reason, will_retry=True, retry_in=plan.delay)
        self.last_disconnect = event
        return Reconnect(plan.delay, event)
