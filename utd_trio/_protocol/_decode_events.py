"""Server → client frames into typed event records (protocol §7)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._events import (
    CallAccepted,
    CallAnsweredElsewhere,
    CallCancelled,
    CallEnded,
    CallIncoming,
    CallMissed,
    CallRejected,
    CallRinging,
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    Event,
    GroupChanged,
    MessageReceived,
    PresenceChanged,
    ReceiptReceived,
    TypingChanged,
)
from . import _vocab as v
from ._codec import Frame, event_key
from ._parse import (
    WireFormatError,
    get_field,
    parse_bool,
    parse_group,
    parse_int,
    parse_list,
    parse_message,
    parse_object,
    parse_presence,
    parse_str,
    parse_time,
)

Data = Mapping[str, Any]


def _str(data: Data, name: str) -> str:
    value = parse_str(get_field(data, name))
    if not value:
        raise WireFormatError(f"missing {name}")
    return value


def _call_id(data: Data) -> str:
    return _str(data, "call_id")


def _incoming(d: Data) -> Event:
    return CallIncoming(
        call_id=_call_id(d),
        caller=_str(d, "from"),
        video=parse_str(d.get("type")) == "video",
        caller_name=parse_str(get_field(d, "from_name")),
        metadata=parse_object(d.get("metadata")) or {},
        expires_at=parse_time(get_field(d, "expires_at")),
    )


def _accepted(d: Data) -> Event:
    return CallAccepted(
        call_id=_call_id(d),
        by=parse_str(d.get("by")) or "",
        room_name=parse_str(get_field(d, "room_name")),
        media=parse_object(d.get("media")),
    )


def _rejected(d: Data) -> Event:
    return CallRejected(_call_id(d), parse_str(d.get("by")) or "", parse_str(d.get("reason")))


def _ended(d: Data) -> Event:
    return CallEnded(
        call_id=_call_id(d),
        by=parse_str(d.get("by")) or "",
        reason=parse_str(d.get("reason")),
        duration_seconds=parse_int(get_field(d, "duration_seconds")),
    )


def _receipt(d: Data) -> Event:
    up_to = parse_int(get_field(d, "up_to_seq"))
    if up_to is None:
        raise WireFormatError("missing up_to_seq")
    return ReceiptReceived(
        conversation_id=_str(d, "conversation_id"),
        user_id=_str(d, "user_id"),
        status=parse_str(d.get("status")) or "delivered",
        up_to_seq=up_to,
        at=parse_time(d.get("at")),
    )


def _typing(d: Data) -> Event:
    return TypingChanged(
        conversation_id=_str(d, "conversation_id"),
        user_id=_str(d, "from"),
        is_typing=bool(parse_bool(get_field(d, "is_typing"))),
    )


def _group(d: Data) -> Event:
    user_ids = tuple(s for s in map(parse_str, parse_list(get_field(d, "user_ids"))) if s)
    return GroupChanged(parse_group(d), parse_str(d.get("change")) or "updated", user_ids)


def _presence(d: Data) -> Event:
    info = parse_presence(d)
    return PresenceChanged(info.user_id, info.online, info.last_seen_at)


def _simple(kind: Callable[[str], Event]) -> Callable[[Data], Event]:
    return lambda d: kind(_call_id(d))


def _message(d: Data) -> Event:
    return MessageReceived(parse_message(d))


def _channel_event(d: Data) -> Event:
    if "data" not in d:
        raise WireFormatError("missing data")
    return ChannelEvent(
        _str(d, "channel"), _str(d, "event"), d["data"], parse_str(get_field(d, "user_id"))
    )


def _member_added(d: Data) -> Event:
    info = parse_object(get_field(d, "user_info")) or {}
    return ChannelMemberAdded(_str(d, "channel"), _str(d, "user_id"), info)


def _member_removed(d: Data) -> Event:
    return ChannelMemberRemoved(_str(d, "channel"), _str(d, "user_id"))


_BY_NAME: dict[str, Callable[[Data], Event]] = {
    v.EV_PRESENCE_UPDATE: _presence,
    v.EV_CALL_INCOMING: _incoming,
    v.EV_CALL_RINGING: _simple(CallRinging),
    v.EV_CALL_ACCEPTED: _accepted,
    v.EV_CALL_ANSWERED_ELSEWHERE: _simple(CallAnsweredElsewhere),
    v.EV_CALL_REJECTED: _rejected,
    v.EV_CALL_CANCELLED: _simple(CallCancelled),
    v.EV_CALL_ENDED: _ended,
    v.EV_CALL_MISSED: _simple(CallMissed),
    v.EV_MESSAGE_NEW: _message,
    v.EV_RECEIPT: _receipt,
    v.EV_TYPING: _typing,
    v.EV_GROUP_UPDATED: _group,
    v.EV_CHANNEL_EVENT: _channel_event,
    v.EV_CHANNEL_MEMBER_ADDED: _member_added,
    v.EV_CHANNEL_MEMBER_REMOVED: _member_removed,
}
DECODERS = {event_key(name): fn for name, fn in _BY_NAME.items()}
"""Event key → decoder. Lifecycle frames (hello, pong, ack, error, capabilities) are handled
by the connection itself, not here."""


def decode_event(key: str, data: Data) -> Event | None:
    """The typed event of a server frame, or None for an unknown event.

    Raises:
        WireFormatError: a known event lacks a field it cannot exist without.

    """
    # Keys from decode_frame are already normalised; a raw wire name works too.
    decoder = DECODERS.get(key) or DECODERS.get(event_key(key))
    return decoder(data) if decoder is not None else None


def frame_event(frame: Frame) -> Event | None:
    """The typed event of ``frame``: the one the fast path decoded, else `decode_event`'s.

    Raises:
        WireFormatError: a known event lacks a field it cannot exist without.

    """
    record = frame.record
    return record if record is not None else decode_event(frame.event, frame.data)
