"""Typed, frozen event records: one class per kind, so ``match`` statements read well."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._models import Capabilities, ChatMessage, Group, JSONObject, PlanLimits

__all__ = [
    "CallAccepted",
    "CallAnsweredElsewhere",
    "CallCancelled",
    "CallEnded",
    "CallIncoming",
    "CallMissed",
    "CallRejected",
    "CallRinging",
    "CapabilitiesChanged",
    "ChannelEvent",
    "ChannelMemberAdded",
    "ChannelMemberRemoved",
    "ChannelResubscribed",
    "Connected",
    "Disconnected",
    "Event",
    "GroupChanged",
    "MessageReceived",
    "PresenceChanged",
    "ReceiptReceived",
    "RecoveryFinished",
    "TypingChanged",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every event delivered by `Signaling.events`."""


# --- lifecycle ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """A reconnect (generation ≥ 2) is established and its flags and limits are loaded.

    The first connection is not announced as an event: `open_signaling` returns only once
    it is up, with the same facts on the session (`generation`, flags, limits).
    """

    generation: int
    signaling_enabled: bool | None
    chat_enabled: bool | None
    plan_limits: PlanLimits | None
    socket_id: str | None = None
    server_time: datetime | None = None

    @property
    def capabilities(self) -> Capabilities:
        """Flags and limits of this generation as one record."""
        return Capabilities(self.signaling_enabled, self.chat_enabled, self.plan_limits)


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """The connection was lost or closed.

    ``code`` is the WebSocket close code (None when the socket died without one),
    ``will_retry`` says whether the supervisor reconnects, ``retry_in`` after how long.
    """

    code: int | None
    reason: str
    will_retry: bool
    retry_in: float | None = None


@dataclass(frozen=True, slots=True)
class CapabilitiesChanged(Event):
    """The plan's flags or limits changed (on reconnect or live)."""

    old: Capabilities
    new: Capabilities


@dataclass(frozen=True, slots=True)
class RecoveryFinished(Event):
    """Missed messages after a reconnect were fetched and delivered.

    ``complete`` is False when some history could not be fetched (the error is in
    ``error``, and ``incomplete`` names the conversations that may still miss messages, or is
    None when even the list of conversations could not be fetched, so any may);
    ``delivered`` counts the messages recovered. What is still missing comes with a later
    recovery, after the live messages of those conversations released meanwhile.
    """

    generation: int
    complete: bool
    delivered: int
    error: str | None = None
    incomplete: frozenset[str] | None = frozenset()


# --- presence -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PresenceChanged(Event):
    """A subscribed user came online or went offline."""

    user_id: str
    online: bool
    last_seen_at: datetime | None = None


# --- calls ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallIncoming(Event):
    """Someone is calling this user."""

    call_id: str
    caller: str
    video: bool
    caller_name: str | None = None
    metadata: JSONObject = field(default_factory=dict[str, Any])
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallRinging(Event):
    """The callee's device is ringing (to the caller)."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallAccepted(Event):
    """The callee accepted; ``media`` credentials are passed through untouched."""

    call_id: str
    by: str
    room_name: str | None = None
    media: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class CallAnsweredElsewhere(Event):
    """The call was accepted on another of this user's devices."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallRejected(Event):
    """The callee rejected the call (``reason``: ``declined`` or ``busy``)."""

    call_id: str
    by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CallCancelled(Event):
    """The caller cancelled before an answer."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallEnded(Event):
    """An answered call ended."""

    call_id: str
    by: str
    reason: str | None = None
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class CallMissed(Event):
    """Nobody answered before the ring timeout."""

    call_id: str


# --- chat -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageReceived(Event):
    """A chat message arrived (also this user's own, sent from another device).

    ``recovered`` is True when it was fetched from history after a reconnect gap.
    """

    message: ChatMessage
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class ReceiptReceived(Event):
    """Someone marked messages up to ``up_to_seq`` as ``delivered`` or ``read``."""

    conversation_id: str
    user_id: str
    status: str
    up_to_seq: int
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TypingChanged(Event):
    """A user started or stopped typing (typing expires after 6 s without refresh)."""

    conversation_id: str
    user_id: str
    is_typing: bool


@dataclass(frozen=True, slots=True)
class GroupChanged(Event):
    """A group this user belongs (or belonged) to changed."""

    group: Group
    change: str
    user_ids: tuple[str, ...] = ()


# --- channels (rooms and broadcast) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelEvent(Event):
    """An event on a channel this session holds.

    ``data`` is passed through exactly as the engine sent it (any JSON value). ``user_id``
    names the sender of a client event (``client-…``); it is None for a backend broadcast.
    """

    channel: str
    event: str
    data: Any
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelMemberAdded(Event):
    """A user joined a presence channel this session holds (their first socket on it)."""

    channel: str
    user_id: str
    user_info: JSONObject = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class ChannelMemberRemoved(Event):
    """A user left a presence channel this session holds (their last socket on it)."""

    channel: str
    user_id: str


@dataclass(frozen=True, slots=True)
class ChannelResubscribed(Event):
    """A held channel was subscribed again after a reconnect (``generation``).

    Channel events are not replayed: whatever was sent on the channel while the socket was
    down is gone, so refetch your state here. For a presence channel the member changes of
    the gap were published just before (`ChannelMemberAdded` / `ChannelMemberRemoved`).
    ``error`` is set when the subscription was refused this time (e.g. the grant was
    refused): the channel is then not live until a later reconnect subscribes it again.
    """

    channel: str
    generation: int
    error: str | None = None
