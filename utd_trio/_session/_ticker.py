"""`Ticker`: the timer of a session's sans-IO core — one task, and only while it has work.

`SessionProtocol.next_tick` says when time next matters to the session (today: a typing state
expires 6 s after its last refresh); `Ticker` sleeps until then on the loop's clock, calls
`SessionProtocol.tick` and publishes what it returns. The task runs in the live connection's
task group (so it ends with the connection) and only while a deadline exists: an idle
session runs no timer at all. A deadline that passes while the session is reconnecting is
handled as soon as the next connection is up.

Deadlines only ever move later while the task runs (each new one is ``now + expiry``), so the
task needs no wake-up when one is added: at worst it wakes at an old deadline, finds nothing
due, and sleeps again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import anyio

from .._events import Event
from .._protocol._session_protocol import SessionProtocol
from .._transport._client import SignalClient
from ._spawn import Spawn, generation_spawner

__all__ = ["Ticker"]


class Ticker:
    """Runs `SessionProtocol.tick` at `SessionProtocol.next_tick`, publishing what it returns."""

    __slots__ = ("_protocol", "_publish", "_running", "_spawn")

    def __init__(self, protocol: SessionProtocol, publish: Callable[[Event], None]) -> None:
        self._protocol = protocol
        self._publish = publish
        self._spawn: Spawn | None = None  # the live connection's task group
        self._running = False

    async def connected(self, client: SignalClient, generation: int) -> None:
        """Connect hook: the new connection's task group is where the timer runs from now."""
        # The last connection's timer ended with its task group (perhaps before it ever ran).
        self._spawn, self._running = generation_spawner(), False
        self.changed()

    def changed(self) -> None:
        """The protocol took an input: start the timer if it now has a deadline."""
        if self._running or self._spawn is None or self._protocol.next_tick() == math.inf:
            return
        try:
            self._spawn(self._run)
        except RuntimeError:  # that connection has ended; the next one's hook starts it
            self._spawn = None
            return
        self._running = True

    async def _run(self) -> None:
        protocol = self._protocol
        try:
            while True:
                for event in protocol.tick(anyio.current_time()):
                    self._publish(event)
                deadline = protocol.next_tick()
                if deadline == math.inf:
                    return
                await anyio.sleep_until(deadline)
        finally:
            self._running = False
