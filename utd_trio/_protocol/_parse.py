"""Tolerant parsing of wire values into typed records.

Scalars never raise: anything unparseable becomes None (protocol §2, §9). Records raise
`WireFormatError` only when a field they cannot exist without is missing; callers turn that
into a counted drop (events) or a PROTOCOL error (replies).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from .._models import (
    Attachment,
    Capabilities,
    ChatMessage,
    Conversation,
    Group,
    GroupMember,
    HistoryPage,
    PlanLimits,
    PresenceInfo,
    Session,
    UploadTicket,
)
from . import _vocab as v
from ._record_maker import record_maker

_fromisoformat = datetime.fromisoformat
new_chat_message = record_maker(ChatMessage)  # also the hot decoder's
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class WireFormatError(ValueError):
    """A record on the wire lacks a field it cannot exist without."""


def camel(name: str) -> str:
    """``max_group_members`` → ``maxGroupMembers``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# snake_case → camelCase of the field names the parsers ask for (literals in this package, so
# the table stays small; bounded anyway). Optional fields are often absent, and re-deriving
# their camelCase spelling on every frame was a visible share of event decoding.
_CAMEL: dict[str, str] = {}
_CAMEL_MAX = 512


def get_field(obj: Mapping[str, Any], name: str) -> Any:
    """The value of a snake_case field, accepting its camelCase spelling too."""
    if name in obj:
        return obj[name]
    alt = _CAMEL.get(name)
    if alt is None:
        alt = camel(name)
        if len(_CAMEL) < _CAMEL_MAX:
            _CAMEL[name] = alt
    return obj.get(alt)


def parse_bool(value: object) -> bool | None:
    """``True``/``"true"``/``1`` → True, ``False``/``"false"``/``0`` → False, else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value == 1:
            return True
        if value == 0:
            return False
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def parse_int(value: object) -> int | None:
    """``30``/``"30"``/``30.0``/``"30.0"`` → 30; fractions, booleans and junk → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def parse_float(value: object) -> float | None:
    """A finite number from a number or numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float (e.g. 400 digits of JSON)
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_str(value: object) -> str | None:
    """A string as is; numbers become their text; anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # an int beyond Python's int→str digit limit
            return None
    return None


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 timestamp (``Z`` or an offset; naive means UTC) → aware datetime, else None."""
    if not isinstance(value, str):
        return None
    try:  # the common, well-formed case in one call (Python 3.11 reads a trailing "Z")
        stamp = _fromisoformat(value)
    except ValueError:
        pass
    else:
        return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def parse_object(value: object) -> dict[str, Any] | None:
    """A JSON object as a dict, else None."""
    if isinstance(value, dict):
        return cast("dict[str, Any]", value)
    if isinstance(value, Mapping):
        items = cast("Mapping[object, Any]", value).items()
        return {str(k): val for k, val in items}
    return None


def parse_limits(value: object) -> PlanLimits | None:
    """The ``limits`` object: each field tolerant; a missing or non-object value → None."""
    obj = parse_object(value)
    if obj is None:
        return None
    values = [parse_int(get_field(obj, name)) for name in v.LIMIT_FIELDS]
    return PlanLimits(*(n if n is None or n >= 0 else None for n in values))


def parse_capabilities(obj: Mapping[str, Any]) -> Capabilities:
    """Flags and limits of a mint reply or a ``capabilities.updated`` snapshot.

    Missing, null or unparseable means unknown (None), never False.
    """
    return Capabilities(
        signaling_enabled=parse_bool(get_field(obj, v.MINT_SIGNALING_ENABLED)),
        chat_enabled=parse_bool(get_field(obj, v.MINT_CHAT_ENABLED)),
        plan_limits=parse_limits(get_field(obj, v.MINT_LIMITS)),
    )


def parse_session(obj: Mapping[str, Any]) -> Session:
    """A mint reply (or a session provider's JSON) → `Session`."""
    token = parse_str(get_field(obj, v.MINT_USER_TOKEN))
    ws_url = parse_str(get_field(obj, v.MINT_WS_URL))
    if not token:
        raise WireFormatError("session has no user_token")
    if not ws_url:
        raise WireFormatError("session has no ws_url")
    caps = parse_capabilities(obj)
    return Session(
        user_token=token,
        ws_url=ws_url,
        expires_in=parse_float(get_field(obj, v.MINT_EXPIRES_IN)),
        signaling_enabled=caps.signaling_enabled,
        chat_enabled=caps.chat_enabled,
        plan_limits=caps.plan_limits,
    )


def _required_str(obj: Mapping[str, Any], name: str, what: str) -> str:
    value = parse_str(get_field(obj, name))
    if not value:
        raise WireFormatError(f"{what} has no {name}")
    return value


def parse_attachment(value: object) -> Attachment | None:
    """A message attachment, or None when absent or unusable."""
    obj = parse_object(value)
    if obj is None:
        return None
    url = parse_str(obj.get("url"))
    if url is None:
        return None
    return Attachment(
        url=url,
        key=parse_str(obj.get("key")) or "",
        content_type=parse_str(get_field(obj, "content_type")) or "application/octet-stream",
        size=parse_int(obj.get("size")) or 0,
        name=parse_str(obj.get("name")),
    )


def parse_message(obj: Mapping[str, Any]) -> ChatMessage:
    """A message object (``message.new``, a ``message.send`` ack, a history item)."""
    # Inlined for the receive path: well-formed values (int seq, str ids, snake_case names)
    # take one type check each; anything else goes through the tolerant parsers as before.
    get = obj.get
    seq = get("seq")
    if type(seq) is not int:
        seq = parse_int(seq)
        if seq is None:
            raise WireFormatError("message has no seq")
    mid = get("id")
    if type(mid) is not str:
        mid = parse_str(mid)
    if not mid:
        raise WireFormatError("message has no id")
    cid = obj["conversation_id"] if "conversation_id" in obj else get("conversationId")
    if type(cid) is not str:
        cid = parse_str(cid)
    if not cid:
        raise WireFormatError("message has no conversation_id")
    sender = get("from")
    if type(sender) is not str:
        sender = parse_str(sender) or ""
    client_id = obj["client_id"] if "client_id" in obj else get("clientId")
    if client_id is not None and type(client_id) is not str:
        client_id = parse_str(client_id)
    to = get("to")
    if to is not None and type(to) is not str:
        to = parse_str(to)
    group_id = obj["group_id"] if "group_id" in obj else get("groupId")
    if group_id is not None and type(group_id) is not str:
        group_id = parse_str(group_id)
    text = get("text")
    if text is not None and type(text) is not str:
        text = parse_str(text)
    attachment = get("attachment")
    if attachment is not None:
        attachment = parse_attachment(attachment)
    metadata = parse_object(get("metadata")) or {}
    created_at = obj["created_at"] if "created_at" in obj else get("createdAt")
    return new_chat_message(
        mid,
        cid,
        seq,
        sender,
        parse_time(created_at),
        client_id,
        to,
        group_id,
        text,
        attachment,
        metadata,
    )


def parse_list(value: object) -> list[Any]:
    """A JSON array as a list; anything else is an empty list."""
    return list(cast("list[Any]", value)) if isinstance(value, list | tuple) else []


def parse_history(obj: Mapping[str, Any]) -> HistoryPage:
    """A history page; items that are not messages are skipped."""
    messages: list[ChatMessage] = []
    for item in parse_list(obj.get("data")):
        record = parse_object(item)
        if record is None:
            continue
        try:
            messages.append(parse_message(record))
        except WireFormatError:
            continue
    messages.sort(key=lambda m: m.seq)
    return HistoryPage(tuple(messages), bool(parse_bool(get_field(obj, "has_more"))))


def parse_group(obj: Mapping[str, Any]) -> Group:
    """A group object."""
    members: list[GroupMember] = []
    for item in parse_list(obj.get("members")):
        record = parse_object(item)
        user = parse_str(get_field(record, "user_id")) if record is not None else None
        if record is not None and user:
            members.append(GroupMember(user, parse_str(record.get("role")) or "member"))
    return Group(
        group_id=_required_str(obj, "group_id", "group"),
        name=parse_str(obj.get("name")) or "",
        owner=parse_str(obj.get("owner")) or "",
        members=tuple(members),
        created_at=parse_time(get_field(obj, "created_at")),
    )


def parse_presence(obj: Mapping[str, Any]) -> PresenceInfo:
    """One user's presence."""
    user_id = obj["user_id"] if "user_id" in obj else obj.get("userId")
    if type(user_id) is not str:
        user_id = parse_str(user_id)
    if not user_id:
        raise WireFormatError("presence has no user_id")
    online = obj.get("online")
    if type(online) is not bool:
        online = bool(parse_bool(online))
    seen = obj["last_seen_at"] if "last_seen_at" in obj else obj.get("lastSeenAt")
    return PresenceInfo(user_id, online, parse_time(seen))


def parse_presence_list(value: object) -> tuple[PresenceInfo, ...]:
    """A list of presence objects; unusable items are skipped."""
    result: list[PresenceInfo] = []
    for item in parse_list(value):
        record = parse_object(item)
        if record is None:
            continue
        try:
            result.append(parse_presence(record))
        except WireFormatError:
            continue
    return tuple(result)


def parse_conversation(obj: Mapping[str, Any]) -> Conversation:
    """A conversation listing item."""
    last = parse_object(get_field(obj, "last_message"))
    try:
        last_message = parse_message(last) if last is not None else None
    except WireFormatError:
        last_message = None
    return Conversation(
        conversation_id=_required_str(obj, "conversation_id", "conversation"),
        kind=parse_str(obj.get("kind")) or "dm",
        last_message=last_message,
        unread=parse_int(obj.get("unread")) or 0,
    )


def parse_upload_ticket(obj: Mapping[str, Any]) -> UploadTicket:
    """A presign reply."""
    headers = parse_object(obj.get("headers")) or {}
    return UploadTicket(
        upload_url=_required_str(obj, "upload_url", "presign"),
        method=(parse_str(obj.get("method")) or "PUT").upper(),
        headers={str(k): str(val) for k, val in headers.items()},
        file_url=_required_str(obj, "file_url", "presign"),
        key=parse_str(obj.get("key")) or "",
        expires_in=parse_float(get_field(obj, "expires_in")),
    )
