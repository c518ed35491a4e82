"""Chat domain of the reference engine: messages, receipts and typing [protocol §6, §7, §10].

Who hears what:

========================  ===============================================================
request                   events
========================  ===============================================================
``message.send``          ``message.new`` → every socket of every participant except the
                          sending socket (the sender's other devices included)
``message.delivered``     ``receipt`` (``delivered``) → the other participants and the
                          reader's other sockets, only when the mark advances
``message.read``          ``receipt`` (``read``; read implies delivered) → likewise
``typing``                ``typing {conversation_id, from, is_typing}`` → the other
                          participants only (never the sender's own sockets)
========================  ===============================================================

Errors: bad fields 422 ``invalid`` (no ``client_id``, both or neither of ``to``/``group_id``,
neither text nor attachment, text over 4000 characters, attachment strings over 2048, metadata
over 16 KiB, messaging yourself); an unknown group 404 ``not_found``; a group you are not in
or a DM you are not part of 403 ``forbidden``. Every request is gated by ``chat``. A
``message.send`` whose ``client_id`` this sender already used answers the original message and
sends nothing (checked before the payload, so a retry always gets its message back). History and
the conversation list are REST: see ``_chat_rest.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, cast

from . import _chat_rest
from ._call_book import check_metadata
from ._chat_store import (
    DELIVERED,
    READ,
    ChatStore,
    ReceiptStatus,
    Thread,
    dm_id,
    group_conversation_id,
    resolve,
)
from ._clock import format_timestamp
from ._errors import EngineError, JSONObject
from ._groups_state import GroupStore
from ._registry import Registry, WsHandler
from ._session import Session
from ._state import EngineState

__all__ = ["MAX_ATTACHMENT_STRING", "MAX_CLIENT_ID", "MAX_TEXT_CHARS", "install"]

MAX_TEXT_CHARS: Final = 4000
"""Longest message text, in characters [protocol §6]."""

MAX_ATTACHMENT_STRING: Final = 2048
"""Longest string field of an attachment [protocol §10]."""

MAX_CLIENT_ID: Final = 128
"""Longest ``client_id`` this engine accepts (a UUID is 36)."""

_IDENTITY: Final = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


def _invalid(message: str) -> EngineError:
    return EngineError(422, "invalid", message)


def _short_str(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise _invalid(f"{name} is longer than {limit} characters")
    return value


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _invalid("text must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS:
        raise _invalid(f"text is {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
    return value


def _attachment(value: object) -> JSONObject | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid("attachment must be a JSON object")
    raw = cast(Mapping[str, Any], value)
    size = raw.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _invalid("attachment.size must be a non-negative integer")
    attachment: JSONObject = {
        name: _short_str(raw.get(name), f"attachment.{name}", MAX_ATTACHMENT_STRING)
        for name in ("url", "key", "content_type")
    }
    attachment["size"] = size
    if raw.get("name") is not None:
        attachment["name"] = _short_str(raw["name"], "attachment.name", MAX_ATTACHMENT_STRING)
    return attachment


def _target(state: EngineState, session: Session, data: JSONObject) -> tuple[Thread, JSONObject]:
    """The conversation a send or typing request names, and its ``to``/``group_id`` field."""
    to, group_id = data.get("to"), data.get("group_id")
    if (to is None) == (group_id is None):
        raise _invalid("exactly one of to or group_id is required")
    if to is not None:
        if not isinstance(to, str) or _IDENTITY.fullmatch(to) is None:
            raise _invalid("to must be a user id of 1..128 characters [A-Za-z0-9_.@-]")
        if to == session.user_id:
            raise _invalid("You cannot message yourself")
        return Thread(dm_id(session.user_id, to), "dm", (session.user_id, to)), {"to": to}
    gid = _short_str(group_id, "group_id", 128)
    cid = group_conversation_id(gid)
    thread = resolve(state.domain(GroupStore), session.app_id, session.user_id, cid)
    return thread, {"group_id": gid}


def _fan_out(
    state: EngineState, session: Session, thread: Thread, event: str, data: JSONObject
) -> None:
    """Send ``event`` to every socket of every participant except the requesting socket."""
    for user in thread.participants:
        for sock in state.sockets.of_user(session.app_id, user):
            if sock is not session:
                sock.send(event, dict(data))


async def _send(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    store = state.domain(ChatStore)
    client_id = _short_str(data.get("client_id"), "client_id", MAX_CLIENT_ID)  # §6: required
    original = store.by_client_id(session.app_id, session.user_id, client_id)
    if original is not None:
        return dict(original.wire)
    thread, fields = _target(state, session, data)
    text = _text(data.get("text"))
    attachment = _attachment(data.get("attachment"))
    if text is None and attachment is None:
        raise _invalid("a message needs text or an attachment")
    metadata = check_metadata(data.get("metadata"))
    payload: JSONObject = {"client_id": client_id}
    payload.update(fields)
    if text is not None:
        payload["text"] = text
    if attachment is not None:
        payload["attachment"] = attachment
    if "metadata" in data and data["metadata"] is not None:
        payload["metadata"] = metadata
    now = state.clock.now()
    conversation = store.open(session.app_id, thread.conversation_id, thread.kind)
    record = store.append(
        session.app_id,
        conversation,
        payload,
        sender=session.user_id,
        created=now,
        created_at=format_timestamp(now),
        participants=thread.participants,
    )
    _fan_out(state, session, thread, "message.new", record.wire)
    return dict(record.wire)


def _marker(status: ReceiptStatus) -> WsHandler:
    async def mark(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
        cid = _short_str(data.get("conversation_id"), "conversation_id", 512)
        up_to = data.get("up_to_seq")
        if isinstance(up_to, bool) or not isinstance(up_to, int) or up_to < 0:
            raise _invalid("up_to_seq must be a non-negative integer")
        thread = resolve(state.domain(GroupStore), session.app_id, session.user_id, cid)
        conversation = state.domain(ChatStore).get(session.app_id, cid)
        if conversation is None:
            return {}  # nothing to mark yet: the clamp leaves the mark at 0
        new = conversation.mark(session.user_id, status, up_to)
        if new is not None:
            receipt: JSONObject = {
                "conversation_id": cid,
                "user_id": session.user_id,
                "status": status,
                "up_to_seq": new,
                "at": state.timestamp(),
            }
            _fan_out(state, session, thread, "receipt", receipt)
        return {}

    return mark


async def _typing(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    thread, _ = _target(state, session, data)
    is_typing = data.get("is_typing")
    if not isinstance(is_typing, bool):
        raise _invalid("is_typing must be true or false")
    event: JSONObject = {
        "conversation_id": thread.conversation_id,
        "from": session.user_id,
        "is_typing": is_typing,
    }
    for user in thread.participants:
        if user != session.user_id:
            for sock in state.sockets.of_user(session.app_id, user):
                sock.send("typing", dict(event))
    return {}


def install(registry: Registry) -> None:
    """Register the chat requests and the chat REST routes (all gated by chat)."""
    registry.ws_handler("message.send", _send, gate="chat")
    registry.ws_handler("message.delivered", _marker(DELIVERED), gate="chat")
    registry.ws_handler("message.read", _marker(READ), gate="chat")
    registry.ws_handler("typing", _typing, gate="chat")
    _chat_rest.install(registry)
