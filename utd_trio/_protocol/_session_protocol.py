"""Everything one session knows, in one object without I/O (contract §5–§8, §11).

`SessionProtocol` is the session's sans-IO core. It composes the machines that each own one
concern — and is the one place every inbound event, timer tick and connection change of the
session goes through:

==================  ========================================================================
part                owns
==================  ========================================================================
``lifecycle``       `SessionMachine`: generation, state, close-code table, reconnect or stop,
                    capabilities, the last `Disconnected`
``delivery``        `DeliveryLedger`: floors, spans, held live messages, own sends, dedup
``typing``          `TypingTable`: the send throttle and the receivers' expiry deadlines
``presence``        `PresenceTable`: watched users, known presence, in-flight (un)subscribes
``channels``        `ChannelTable`: held channels, their generation and member lists
==================  ========================================================================

Each connection's own protocol (refs, replies, pings, the dead peer) is a `ConnectionMachine`
the connection shell drives; what it hands on — every server event — comes here.

Inputs and outputs (``now`` is the loop's clock; nothing here reads one):

=========================================  ===============================================
input                                      output (what the shell does with it)
=========================================  ===============================================
``established(session, hello)``            events to publish (`Connected`, a capability
                                           change); the ledger opens the recovery gap
``receive(frame, now)``                    the event to publish, or None (held for the
                                           recovery, a duplicate, a typing refresh, a
                                           stale presence update, malformed, unknown)
``tick(now)``                              the typing states that expired, to publish
``next_tick()``                            when ``tick`` has work next (``inf``: never)
``recovery_job()``                         the history fetches that recover the gap
``finish_recovery(generation, complete)``  the held live messages to publish, in order
``connection_closed`` / ``connect_failed``  (on ``lifecycle``) reconnect after N s, or stop
=========================================  ===============================================

Request outcomes go to the part that asked (``delivery.own`` for an acked send,
``presence.apply_snapshot`` at the ack's place in the inbound order, ``channels.subscribed``).
The shells — `SessionCore`, the `Supervisor` and the domain components — mint, connect, send,
sleep until ``next_tick`` and publish; they decide nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from .._events import (
    ChannelMemberAdded,
    ChannelMemberRemoved,
    Event,
    MessageReceived,
    PresenceChanged,
    ReceiptReceived,
    TypingChanged,
)
from .._models import Session
from . import _vocab as v
from ._channels import ChannelTable
from ._codec import Frame, event_key
from ._connection import ConnectionStats, Hello
from ._decode_events import frame_event
from ._delivery import DeliveryLedger
from ._parse import WireFormatError
from ._presence import PresenceTable
from ._recovery_job import RecoveryJob
from ._session_machine import SessionMachine
from ._typing_table import TypingTable

__all__ = ["SessionProtocol"]

_CAPS: Final = event_key(v.EV_CAPABILITIES_UPDATED)

_Route = Callable[["SessionProtocol", Event, float], Event | None]


class SessionProtocol:
    """The sans-IO core of one session (see the module docstring)."""

    __slots__ = ("channels", "delivery", "lifecycle", "presence", "stats", "typing")

    def __init__(
        self,
        *,
        backoff_base: float,
        backoff_cap: float,
        connect_timeout: float,
        stats: ConnectionStats | None = None,
    ) -> None:
        self.lifecycle = SessionMachine(
            backoff_base=backoff_base, backoff_cap=backoff_cap, connect_timeout=connect_timeout
        )
        """Generation, state, reconnect decisions and capabilities."""
        self.delivery = DeliveryLedger()
        """What chat messages were published, held or are owed (recovery, §8)."""
        self.typing = TypingTable()
        """Typing sent (throttle) and seen (expiry)."""
        self.presence = PresenceTable()
        """Watched users and their known presence."""
        self.channels = ChannelTable()
        """Held channels and their members."""
        self.stats = stats if stats is not None else ConnectionStats()
        """Where malformed and unknown events are counted (the session's counters)."""

    # --- connections -------------------------------------------------------------------

    def established(self, session: Session, hello: Hello) -> list[Event]:
        """A connection opened with ``session`` said ``hello``: the events to publish.

        The ledger enters the new generation here, before any frame of it is taken, so a
        live message that arrives ahead of the recovery is held, never published early; the
        presence table learns that the new socket has no unsubscribe in flight.
        """
        events = self.lifecycle.established(session, hello)
        self.delivery.connected(self.lifecycle.generation, hello.server_time)
        self.presence.connected()
        return events

    # --- inbound -----------------------------------------------------------------------

    def receive(self, frame: Frame, now: float) -> Event | None:
        """A server event (not an ack, pong or hello) at ``now``: the event to publish."""
        if frame.event == _CAPS:
            changed = self.lifecycle.capabilities_frame(frame.data)
            return changed[0] if changed else None
        event = frame.record  # the fast path's typed record: `frame_event` without the call
        if event is None:
            try:
                event = frame_event(frame)
            except WireFormatError:
                self.stats.count_drop("malformed_event")
                return None
            if event is None:
                self.stats.count_drop("unknown_event")
                return None
        route = _ROUTES.get(type(event))
        return event if route is None else route(self, event, now)

    def _message(self, event: Event, now: float) -> Event | None:
        assert isinstance(event, MessageReceived)
        return event if self.delivery.live(event.message, self.lifecycle.generation) else None

    def _receipt(self, event: Event, now: float) -> Event | None:
        assert isinstance(event, ReceiptReceived)
        self.delivery.observe(event.at, self.lifecycle.generation)
        return event

    def _presence(self, event: Event, now: float) -> Event | None:
        assert isinstance(event, PresenceChanged)
        return event if self.presence.on_update(event) else None

    def _typing(self, event: Event, now: float) -> Event | None:
        assert isinstance(event, TypingChanged)
        changed = self.typing.seen(event.conversation_id, event.user_id, event.is_typing, now)
        return event if changed else None

    def _member(self, event: Event, now: float) -> Event | None:
        self.channels.on_event(event)
        return event

    # --- time --------------------------------------------------------------------------

    def next_tick(self) -> float:
        """When `tick` has work next (``math.inf``: nobody is typing)."""
        return self.typing.next_deadline()

    def tick(self, now: float) -> list[Event]:
        """Time passed to ``now``: the typing states that expired (6 s without a refresh)."""
        return [TypingChanged(cid, user, is_typing=False) for cid, user in self.typing.expire(now)]

    # --- recovery ----------------------------------------------------------------------

    def recovery_job(self) -> RecoveryJob:
        """The plan of the history fetches that recover this connection's gap (§8)."""
        return RecoveryJob(self.delivery, chat_enabled=self.lifecycle.capabilities.chat_enabled)

    def finish_recovery(self, generation: int, *, complete: bool) -> list[Event]:
        """The recovery of ``generation`` ended: the held live messages, to publish in order."""
        return [
            MessageReceived(message)
            for message in self.delivery.finish_recovery(generation, complete=complete)
        ]


_ROUTES: Final[dict[type[Event], _Route]] = {
    MessageReceived: SessionProtocol._message,  # pyright: ignore[reportPrivateUsage]
    ReceiptReceived: SessionProtocol._receipt,  # pyright: ignore[reportPrivateUsage]
    PresenceChanged: SessionProtocol._presence,  # pyright: ignore[reportPrivateUsage]
    TypingChanged: SessionProtocol._typing,  # pyright: ignore[reportPrivateUsage]
    ChannelMemberAdded: SessionProtocol._member,  # pyright: ignore[reportPrivateUsage]
    ChannelMemberRemoved: SessionProtocol._member,  # pyright: ignore[reportPrivateUsage]
}
"""The events a part of the session takes before they are published, by exact class."""
