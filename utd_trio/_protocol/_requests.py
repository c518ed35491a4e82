"""Client → server request bodies (protocol §6, §11): the mirror of `_decode_events.py`.

One pure builder per request the domain components send. Each checks its arguments through
`_validate.py` (ValueError, or `ArgumentTypeError` for a wrong type, naming the parameter)
and spells every field name and enum value from the vocabulary table, so a domain only
chooses *when* to send, never *what the wire looks like*. The event name of each body is the
matching ``REQ_*`` constant of `_vocab.py`.

Presence and typing requests are built by their own components (`_presence.py`,
`_typing_indicators.py`).
"""

from __future__ import annotations

from typing import Any

from .._models import Attachment
from . import _vocab as v
from ._channels import check_channel_name, check_client_event
from ._validate import (
    check_bool,
    check_choice,
    check_count,
    check_identity,
    check_instance,
    check_message_body,
    check_metadata,
    check_non_empty,
    check_not_self,
    check_reject_reason,
)

__all__ = [
    "attachment_body",
    "call_accept",
    "call_cancel",
    "call_end",
    "call_invite",
    "call_reject",
    "call_ringing",
    "channel_subscribe",
    "channel_trigger",
    "channel_unsubscribe",
    "message_send",
    "receipt_mark",
]

Body = dict[str, Any]


# --- calls (§6) ---------------------------------------------------------------------------


def call_invite(
    to: object,
    *,
    me: str | None,
    video: object = False,
    metadata: object = None,
    call_id: str,
) -> Body:
    """``call.invite``: call user ``to`` (not ``me``), audio or video, with the given id.

    Raises:
        ValueError: ``to`` not a user id or this user; ``video`` not a bool (also a
            TypeError); bad ``metadata``; an empty ``call_id``.
    """
    callee = check_identity(to, "to")
    is_video = check_bool(video, "video")
    check_not_self(callee, me, "you cannot call yourself")
    extra = check_metadata(metadata)
    body: Body = {
        v.FIELD_TO: callee,
        v.FIELD_CALL_TYPE: v.CALL_VIDEO if is_video else v.CALL_AUDIO,
        v.FIELD_CALL_ID: check_non_empty(call_id, "call_id"),
    }
    if extra is not None:
        body[v.FIELD_METADATA] = extra
    return body


def _call(call_id: object) -> Body:
    return {v.FIELD_CALL_ID: check_non_empty(call_id, "call_id")}


def call_ringing(call_id: object) -> Body:
    """``call.ringing``: this (callee's) device rings for ``call_id``; ValueError if empty."""
    return _call(call_id)


def call_accept(call_id: object) -> Body:
    """``call.accept``: the callee answers ``call_id``; ValueError if empty."""
    return _call(call_id)


def call_reject(call_id: object, reason: object = None) -> Body:
    """``call.reject``: the callee refuses ``call_id``, optionally ``declined`` or ``busy``.

    Raises:
        ValueError: an empty ``call_id`` or another ``reason``.
    """
    body = _call(call_id)
    checked = check_reject_reason(reason)
    if checked is not None:
        body[v.FIELD_REASON] = checked
    return body


def call_cancel(call_id: object) -> Body:
    """``call.cancel``: the caller withdraws an unanswered ``call_id``; ValueError if empty."""
    return _call(call_id)


def call_end(call_id: object) -> Body:
    """``call.end``: either party hangs up an answered ``call_id``; ValueError if empty."""
    return _call(call_id)


# --- chat (§6) ----------------------------------------------------------------------------


def attachment_body(attachment: Attachment) -> Body:
    """An `Attachment` as ``message.send`` carries it (``name`` only when set)."""
    body: Body = {
        v.ATTACHMENT_URL: attachment.url,
        v.ATTACHMENT_KEY: attachment.key,
        v.ATTACHMENT_CONTENT_TYPE: attachment.content_type,
        v.ATTACHMENT_SIZE: attachment.size,
    }
    if attachment.name is not None:
        body[v.ATTACHMENT_NAME] = attachment.name
    return body


def message_send(
    client_id: object,
    target_field: str,
    target: object,
    text: object = None,
    attachment: object = None,
    metadata: object = None,
) -> Body:
    """``message.send``: a message to ``to`` or ``group_id``, idempotent on ``client_id``.

    ``target_field`` names which of the two ``target`` is.

    Raises:
        ValueError: an empty ``client_id``; ``target_field`` not ``to`` / ``group_id``; a
            ``target`` that is not a user id (``to``) or is empty (``group_id``); neither
            ``text`` nor ``attachment``; ``text`` empty, too long or not valid Unicode;
            ``attachment`` not an `Attachment` (also a TypeError); bad ``metadata``.
    """
    key = check_non_empty(client_id, "client_id")
    field = check_choice(target_field, "target_field", v.CHAT_TARGETS)
    check_target = check_identity if field == v.FIELD_TO else check_non_empty
    where = check_target(target, field)
    body_text, media = check_message_body(text, attachment)
    extra = check_metadata(metadata)
    body: Body = {v.FIELD_CLIENT_ID: key, field: where}
    if body_text is not None:
        body[v.FIELD_TEXT] = body_text
    if media is not None:
        body[v.FIELD_ATTACHMENT] = attachment_body(media)
    if extra is not None:
        body[v.FIELD_METADATA] = extra
    return body


def receipt_mark(conversation_id: object, up_to_seq: object) -> Body:
    """``message.delivered`` / ``message.read``: messages up to ``up_to_seq`` reached / were read.

    Raises:
        ValueError: an empty ``conversation_id`` or an ``up_to_seq`` that is not a
            non-negative int.
    """
    return {
        v.FIELD_CONVERSATION_ID: check_non_empty(conversation_id, "conversation_id"),
        v.FIELD_UP_TO_SEQ: check_count(up_to_seq, "up_to_seq"),
    }


# --- channels (§11) -----------------------------------------------------------------------


def channel_subscribe(channel: object, auth: object = None, channel_data: object = None) -> Body:
    """``channel.subscribe``: ``channel``, with a grant's ``auth`` and ``channel_data`` if any.

    ``channel_data`` is carried as given (``""`` included); None leaves it out.

    Raises:
        ValueError / TypeError: a bad channel name; an empty ``auth``; a ``channel_data``
            that is not a string.
    """
    body: Body = {v.FIELD_CHANNEL: check_channel_name(channel, "channel")}
    if auth is not None:
        body[v.GRANT_AUTH] = check_non_empty(auth, "auth")
    data = check_instance(channel_data, "channel_data", str, "a JSON string")
    if data is not None:
        body[v.GRANT_CHANNEL_DATA] = data
    return body


def channel_unsubscribe(channel: object) -> Body:
    """``channel.unsubscribe``: release ``channel``; ValueError / TypeError for a bad name."""
    return {v.FIELD_CHANNEL: check_channel_name(channel, "channel")}


def channel_trigger(channel: object, event: object, data: object) -> Body:
    """``channel.trigger``: client event ``event`` with ``data`` (any JSON value) on ``channel``.

    Raises:
        ValueError / TypeError: a bad channel name; a public channel; an ``event`` that does
            not start with ``client-`` or is over 200 characters; ``data`` not JSON or over
            10 KiB serialised.
    """
    name = check_channel_name(channel, "channel")
    checked = check_client_event(name, event, data)
    return {v.FIELD_CHANNEL: name, v.FIELD_EVENT: checked, v.FIELD_EVENT_DATA: data}
