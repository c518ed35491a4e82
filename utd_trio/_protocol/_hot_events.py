"""The hot inbound events decoded straight from the frame text with msgspec (issue 18).

``message.new``, ``presence.update``, ``typing`` and ``receipt`` are nearly all of what a busy
session receives, ``pong`` nearly all of what an idle one does (it gets a `Frame` with no
record: nothing but its ``ref`` is read), and ``ack`` answers every request (its ``data`` is
any JSON object, decoded by msgspec into the same ``dict`` that ``json.loads`` makes). For
them, `decode_inbound` asks one `msgspec.json.Decoder` for the canonical shape — the envelope
with ``event`` as the tag, the payload's fields with their exact types, names from the
vocabulary table — and builds the typed event from it, without the intermediate ``dict`` of
``json.loads`` and the field-by-field tolerant parsing.

It only ever answers when the answer is the one the tolerant path would give. On any
mismatch it returns what `decode_frame` returns, and `decode_event` decides: a
`msgspec.ValidationError` or `DecodeError` (a missing field, a string for a number, an empty
id, a ``null``), a dialect event name (``message_new``), or a camelCase spelling of a field
the tolerant parser reads (declared below as a field no value can satisfy). Unknown fields
are ignored by both. Two things msgspec accepts where ``json.loads`` refuses the whole frame
are screened first: integers longer than Python's int-string limit and nesting deeper than
the recursion limit (any frame that could hold either takes the tolerant path).
``tests/unit/test_hot_events.py`` holds both decoders to the same result.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, Final

import msgspec

from .._events import Event, MessageReceived, PresenceChanged, ReceiptReceived, TypingChanged
from . import _vocab as v
from ._codec import Dropped, Frame, decode_frame, event_key
from ._parse import camel, new_chat_message, parse_attachment, parse_time
from ._record_maker import record_maker

__all__ = ["decode_inbound"]

# A field whose presence always fails validation: a dialect spelling goes to the tolerant path.
_Absent = Annotated[int, msgspec.Meta(ge=1, le=0)]
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
_ABSENT: Final = 0


def _alias(name: str) -> Any:
    """The camelCase spelling of ``name`` as a field that must not be there."""
    return msgspec.field(default=_ABSENT, name=camel(name))


class _Message(msgspec.Struct):
    id: _NonEmpty = msgspec.field(name=v.FIELD_ID)
    conversation_id: _NonEmpty = msgspec.field(name=v.FIELD_CONVERSATION_ID)
    seq: int = msgspec.field(name=v.FIELD_SEQ)
    sender: str = msgspec.field(default="", name=v.FIELD_FROM)
    created_at: str | None = msgspec.field(default=None, name=v.FIELD_CREATED_AT)
    client_id: str | None = msgspec.field(default=None, name=v.FIELD_CLIENT_ID)
    to: str | None = msgspec.field(default=None, name=v.FIELD_TO)
    group_id: str | None = msgspec.field(default=None, name=v.FIELD_GROUP_ID)
    text: str | None = msgspec.field(default=None, name=v.FIELD_TEXT)
    attachment: dict[str, Any] | None = msgspec.field(default=None, name=v.FIELD_ATTACHMENT)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict[str, Any], name=v.FIELD_METADATA)
    conversation_id_: _Absent = _alias(v.FIELD_CONVERSATION_ID)
    created_at_: _Absent = _alias(v.FIELD_CREATED_AT)
    client_id_: _Absent = _alias(v.FIELD_CLIENT_ID)
    group_id_: _Absent = _alias(v.FIELD_GROUP_ID)


class _Presence(msgspec.Struct):
    user_id: _NonEmpty = msgspec.field(name=v.FIELD_USER_ID)
    online: bool = msgspec.field(default=False, name=v.FIELD_ONLINE)
    last_seen_at: str | None = msgspec.field(default=None, name=v.FIELD_LAST_SEEN_AT)
    user_id_: _Absent = _alias(v.FIELD_USER_ID)
    last_seen_at_: _Absent = _alias(v.FIELD_LAST_SEEN_AT)


class _Typing(msgspec.Struct):
    conversation_id: _NonEmpty = msgspec.field(name=v.FIELD_CONVERSATION_ID)
    sender: _NonEmpty = msgspec.field(name=v.FIELD_FROM)
    is_typing: bool = msgspec.field(default=False, name=v.FIELD_IS_TYPING)
    conversation_id_: _Absent = _alias(v.FIELD_CONVERSATION_ID)
    is_typing_: _Absent = _alias(v.FIELD_IS_TYPING)


class _Receipt(msgspec.Struct):
    conversation_id: _NonEmpty = msgspec.field(name=v.FIELD_CONVERSATION_ID)
    user_id: _NonEmpty = msgspec.field(name=v.FIELD_USER_ID)
    up_to_seq: int = msgspec.field(name=v.FIELD_UP_TO_SEQ)
    status: _NonEmpty = msgspec.field(default=v.RECEIPT_DELIVERED, name=v.FIELD_STATUS)
    at: str | None = msgspec.field(default=None, name=v.FIELD_AT)
    conversation_id_: _Absent = _alias(v.FIELD_CONVERSATION_ID)
    user_id_: _Absent = _alias(v.FIELD_USER_ID)
    up_to_seq_: _Absent = _alias(v.FIELD_UP_TO_SEQ)


_TAG: Final = v.FRAME_EVENT


class _MessageFrame(msgspec.Struct, tag_field=_TAG, tag=v.EV_MESSAGE_NEW):
    data: _Message = msgspec.field(name=v.FRAME_DATA)
    ref: str | None = msgspec.field(default=None, name=v.FRAME_REF)


class _PresenceFrame(msgspec.Struct, tag_field=_TAG, tag=v.EV_PRESENCE_UPDATE):
    data: _Presence = msgspec.field(name=v.FRAME_DATA)
    ref: str | None = msgspec.field(default=None, name=v.FRAME_REF)


class _TypingFrame(msgspec.Struct, tag_field=_TAG, tag=v.EV_TYPING):
    data: _Typing = msgspec.field(name=v.FRAME_DATA)
    ref: str | None = msgspec.field(default=None, name=v.FRAME_REF)


class _ReceiptFrame(msgspec.Struct, tag_field=_TAG, tag=v.EV_RECEIPT):
    data: _Receipt = msgspec.field(name=v.FRAME_DATA)
    ref: str | None = msgspec.field(default=None, name=v.FRAME_REF)


class _PongFrame(msgspec.Struct, tag_field=_TAG, tag=v.EV_PONG):
    """A heartbeat answer: only its ``ref`` is read (its ``data`` waits in the `Frame`)."""

    ref: str | None = msgspec.field(default=None, name=v.FRAME_REF)


class _AckFrame(msgspec.Struct, tag_field=_TAG, tag=v.EV_ACK):
    """A request's answer: a ``ref`` and an object (a missing or string ``data`` falls back)."""

    data: dict[str, Any] = msgspec.field(name=v.FRAME_DATA)
    ref: str | None = msgspec.field(default=None, name=v.FRAME_REF)


_EventFrame = _MessageFrame | _PresenceFrame | _TypingFrame | _ReceiptFrame
_HotFrame = _EventFrame | _PongFrame | _AckFrame
_decode: Final = msgspec.json.Decoder(_HotFrame).decode
_FAILED: Final = (msgspec.MsgspecError, RecursionError)


_new_received = record_maker(MessageReceived)
_new_presence = record_maker(PresenceChanged)
_new_typing = record_maker(TypingChanged)
_new_receipt = record_maker(ReceiptReceived)


def _message(d: _Message) -> Event:
    attachment = parse_attachment(d.attachment) if d.attachment is not None else None
    message = new_chat_message(
        d.id,
        d.conversation_id,
        d.seq,
        d.sender,
        parse_time(d.created_at),
        d.client_id,
        d.to,
        d.group_id,
        d.text,
        attachment,
        d.metadata,
    )
    return _new_received(message, False)


def _event_of(frame: _EventFrame) -> Event:
    d = frame.data
    if isinstance(d, _Message):
        return _message(d)
    if isinstance(d, _Presence):
        return _new_presence(d.user_id, d.online, parse_time(d.last_seen_at))
    if isinstance(d, _Typing):
        return _new_typing(d.conversation_id, d.sender, d.is_typing)
    return _new_receipt(d.conversation_id, d.user_id, d.status, d.up_to_seq, parse_time(d.at))


_KEYS: Final = {
    _MessageFrame: event_key(v.EV_MESSAGE_NEW),
    _PresenceFrame: event_key(v.EV_PRESENCE_UPDATE),
    _TypingFrame: event_key(v.EV_TYPING),
    _ReceiptFrame: event_key(v.EV_RECEIPT),
    _PongFrame: event_key(v.EV_PONG),
}
_ACK_KEY: Final = event_key(v.EV_ACK)
_NESTING: Final = 256  # brackets a frame may hold and still be screened as shallow
_LONG_DIGITS: dict[int, re.Pattern[str]] = {}
_SHORT: Final = 2 * _NESTING  # below 640, the least ``sys.set_int_max_str_digits`` takes


def _screened(text: str) -> bool:
    """False when ``json.loads`` might refuse what msgspec accepts (see the module docstring).

    Nesting ``k`` deep takes ``2 * k`` characters at least, so a short text needs no count
    (`str.count` costs about as much as msgspec's whole decode of a chat message).
    """
    if len(text) > 2 * _NESTING and text.count("[") + text.count("{") > _NESTING:
        return False
    limit = sys.get_int_max_str_digits()
    if limit and len(text) > limit:
        pattern = _LONG_DIGITS.get(limit)
        if pattern is None:
            pattern = _LONG_DIGITS[limit] = re.compile(rf"\d{{{limit + 1}}}")
        return pattern.search(text) is None
    return True


def decode_inbound(payload: str | bytes) -> Frame | Dropped:
    """Decode one inbound message: the hot events by msgspec, all else by `decode_frame`.

    A `Frame` from the fast path carries its typed event in ``record`` (see `Frame`); never
    raises.
    """
    # A text of at most 512 characters needs no screen: it cannot nest 256 deep, nor hold more
    # digits than the smallest limit Python allows (640).
    if isinstance(payload, str) and (
        len(payload) <= _SHORT or (len(payload) * 4 <= v.MAX_FRAME_BYTES and _screened(payload))
    ):
        try:
            hot = _decode(payload)
            if isinstance(hot, _AckFrame):
                return Frame(_ACK_KEY, hot.data, hot.ref)
            record = None if isinstance(hot, _PongFrame) else _event_of(hot)
        except _FAILED:
            return decode_frame(payload)
        return Frame.decoded(_KEYS[type(hot)], hot.ref, payload, record)
    return decode_frame(payload)
