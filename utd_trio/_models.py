"""Frozen, typed records of the domain: sessions, capabilities, messages, groups, calls."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Attachment",
    "Call",
    "CallAnswer",
    "Capabilities",
    "ChatMessage",
    "ConnectionState",
    "Conversation",
    "Group",
    "GroupMember",
    "HistoryPage",
    "PlanLimits",
    "PresenceInfo",
    "Session",
    "UploadTicket",
]

JSONObject = Mapping[str, Any]


class ConnectionState(enum.Enum):
    """The honest state of a `Signaling` session, derived from the last proof of life."""

    CONNECTING = "connecting"
    """The first connection is being made."""
    CONNECTED = "connected"
    """A socket is open, its hello arrived and it has shown life within the heartbeat window."""
    RECONNECTING = "reconnecting"
    """The last socket died; a new one is being made (or waiting out a backoff)."""
    CLOSED = "closed"
    """The session ended (the user left, or a terminal error stopped it)."""


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """The plan's limits. Every field is optional: None means *unknown*, not zero."""

    history_days: int | None = None
    max_group_members: int | None = None
    max_friends: int | None = None
    max_chatrooms: int | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The two separately billed capabilities and the plan limits.

    A flag of None means *unknown — let the engine decide*; it is never the same as False.
    """

    signaling_enabled: bool | None = None
    chat_enabled: bool | None = None
    plan_limits: PlanLimits | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """A minted per-user session: the token for REST and WebSocket, and the plan."""

    user_token: str = field(repr=False)
    ws_url: str
    expires_in: float | None = None
    signaling_enabled: bool | None = None
    chat_enabled: bool | None = None
    plan_limits: PlanLimits | None = None

    @property
    def capabilities(self) -> Capabilities:
        """The flags and limits of this session as one record."""
        return Capabilities(self.signaling_enabled, self.chat_enabled, self.plan_limits)

    def __repr__(self) -> str:
        return (
            f"Session(user_token='***', ws_url={self.ws_url!r}, expires_in={self.expires_in!r}, "
            f"signaling_enabled={self.signaling_enabled!r}, chat_enabled={self.chat_enabled!r}, "
            f"plan_limits={self.plan_limits!r})"
        )


@dataclass(frozen=True, slots=True)
class Attachment:
    """A media attachment of a message (uploaded through `presign_upload`)."""

    url: str
    key: str
    content_type: str
    size: int
    name: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The attachment as sent in a ``message.send`` request."""
        wire: dict[str, Any] = {
            "url": self.url,
            "key": self.key,
            "content_type": self.content_type,
            "size": self.size,
        }
        if self.name is not None:
            wire["name"] = self.name
        return wire


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A stored chat message. ``seq`` is strictly increasing per conversation."""

    id: str
    conversation_id: str
    seq: int
    sender: str
    created_at: datetime | None
    client_id: str | None = None
    to: str | None = None
    group_id: str | None = None
    text: str | None = None
    attachment: Attachment | None = None
    metadata: JSONObject = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a conversation's history, ascending by ``seq``."""

    messages: tuple[ChatMessage, ...]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation the user takes part in (a DM or a group)."""

    conversation_id: str
    kind: str
    last_message: ChatMessage | None
    unread: int


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A member of a group with their role (``owner``, ``admin`` or ``member``)."""

    user_id: str
    role: str


@dataclass(frozen=True, slots=True)
class Group:
    """A chat group."""

    group_id: str
    name: str
    owner: str
    members: tuple[GroupMember, ...]
    created_at: datetime | None = None

    @property
    def conversation_id(self) -> str:
        """The conversation id of the group's messages."""
        return f"group:{self.group_id}"


@dataclass(frozen=True, slots=True)
class PresenceInfo:
    """A user's presence: online while at least one of their sockets is connected."""

    user_id: str
    online: bool
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Call:
    """An outgoing call invitation as acknowledged by the engine."""

    call_id: str
    to: str
    video: bool
    status: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """The engine's answer to an accepted call; ``media`` is passed through untouched."""

    call_id: str
    room_name: str | None = None
    media: JSONObject | None = None


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """A presigned upload: PUT the bytes to ``upload_url`` with exactly ``headers``."""

    upload_url: str = field(repr=False)
    method: str
    headers: Mapping[str, str]
    file_url: str
    key: str
    expires_in: float | None = None
