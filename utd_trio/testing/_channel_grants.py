"""Channel names, sizes and grants of the reference engine [protocol §11].

A grant is byte-compatible with Pusher's channel-auth contract: ``auth`` is
``"<app key>:<hex HMAC-SHA256(server secret, S)>"`` where ``S`` is
``"<socket_id>:<channel_name>"``, plus ``":<channel_data>"`` whenever the subscribe carries
``channel_data`` (always for presence channels), over the ``channel_data`` string exactly as
sent. ``"channel_data": null`` is the same as absent; ``""`` is carried (``S`` ends in ``:``).

Sizes are the UTF-8 bytes of compact JSON (separators ``,`` and ``:``, non-ASCII not escaped).
Everything here is pure: no engine state, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Final, Literal, cast

from ._errors import EngineError, JSONObject
from ._project import ProjectConfig

__all__ = [
    "MAX_CHANNEL_NAME",
    "MAX_EVENT_DATA",
    "MAX_USER_INFO",
    "SOCKET_ID_RE",
    "ChannelKind",
    "PresenceGrant",
    "channel_kind",
    "check_channel_name",
    "check_socket_id",
    "check_user_info",
    "compact_json",
    "json_size",
    "make_grant",
    "sign",
    "verify_grant",
]

MAX_CHANNEL_NAME: Final = 164
"""Longest channel name (characters)."""
MAX_USER_INFO: Final = 1024
"""Largest presence ``user_info`` (UTF-8 bytes of compact JSON)."""
MAX_EVENT_DATA: Final = 10 * 1024
"""Largest event ``data`` (UTF-8 bytes of compact JSON): client events and broadcasts."""

SOCKET_ID_RE: Final = re.compile(r"[0-9]+\.[0-9]+")
"""Shape of a ``socket_id`` (Pusher's: server libraries refuse any other)."""

_NAME_RE: Final = re.compile(rf"[A-Za-z0-9_\-=@,.;]{{1,{MAX_CHANNEL_NAME}}}")
_ENCRYPTED: Final = "private-encrypted-"

ChannelKind = Literal["public", "private", "presence"]
"""What a channel's name prefix makes it."""

FORBIDDEN_GRANT: Final = "Channel grant refused"


def compact_json(value: object) -> str:
    """``value`` as compact JSON (separators ``,`` and ``:``, non-ASCII kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_size(value: object) -> int:
    """UTF-8 bytes of :func:`compact_json` of ``value``."""
    return len(compact_json(value).encode("utf-8", "surrogatepass"))


def channel_kind(name: str) -> ChannelKind:
    """``presence`` / ``private`` by prefix; anything else is public."""
    if name.startswith("presence-"):
        return "presence"
    if name.startswith("private-"):
        return "private"
    return "public"


def check_channel_name(value: object, field: str = "channel") -> str:
    """A valid channel name the engine offers, else 422 ``invalid``.

    1–164 characters of ``[A-Za-z0-9_-=@,.;]``; ``private-encrypted-`` channels are not
    offered.
    """
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise EngineError(
            422,
            "invalid",
            f"{field} must be 1-{MAX_CHANNEL_NAME} characters of A-Z a-z 0-9 _ - = @ , . ;",
        )
    if value.startswith(_ENCRYPTED):
        raise EngineError(422, "invalid", "private-encrypted- channels are not offered")
    return value


def check_socket_id(value: object, field: str = "socket_id") -> str:
    """A ``socket_id`` of the shape ``<digits>.<digits>``, else 422 ``invalid``."""
    if not isinstance(value, str) or not SOCKET_ID_RE.fullmatch(value):
        raise EngineError(422, "invalid", f"{field} must look like 1234.5678")
    return value


def check_user_info(value: object) -> JSONObject:
    """``user_info``: ``None`` → ``{}``; an object ≤ 1 KiB compact JSON; else 422."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EngineError(422, "invalid", "user_info must be a JSON object")
    info = cast(JSONObject, value)
    if json_size(info) > MAX_USER_INFO:
        raise EngineError(422, "invalid", f"user_info is over {MAX_USER_INFO} bytes")
    return info


def sign(secret: str, socket_id: str, channel: str, channel_data: str | None) -> str:
    """Lower-case hex HMAC-SHA256 of ``S`` (module docstring) with ``secret``."""
    text = f"{socket_id}:{channel}"
    if channel_data is not None:
        text += f":{channel_data}"
    return hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def make_grant(
    project: ProjectConfig, socket_id: str, channel: str, channel_data: str | None = None
) -> JSONObject:
    """The grant JSON ``{"auth", "channel_data"?}`` a customer backend would answer."""
    signature = sign(project.app_secret, socket_id, channel, channel_data)
    grant: JSONObject = {"auth": f"{project.app_key}:{signature}"}
    if channel_data is not None:
        grant["channel_data"] = channel_data
    return grant


class PresenceGrant:
    """What a verified presence grant says: the member's ``user_id`` and raw ``user_info``."""

    __slots__ = ("user_id", "user_info")

    def __init__(self, user_id: str, user_info: object) -> None:
        self.user_id = user_id
        """The member (always the subscribing socket's own user)."""
        self.user_info = user_info
        """``user_info`` as found in ``channel_data`` (not yet checked; may be absent=None)."""


def _forbidden(reason: str) -> EngineError:
    return EngineError(403, "forbidden", f"{FORBIDDEN_GRANT}: {reason}")


def verify_grant(
    project: ProjectConfig,
    *,
    socket_id: str,
    user_id: str,
    channel: str,
    auth: object,
    channel_data: object,
) -> PresenceGrant | None:
    """Check a subscribe's grant for a private or presence ``channel``; 403 ``forbidden`` if bad.

    Checks the app key, the signature (constant time) and, for presence, that ``channel_data``
    names ``user_id``. Returns the presence member (``None`` for a private channel).
    """
    if channel_data is not None and not isinstance(channel_data, str):
        raise _forbidden("channel_data must be a JSON string")
    kind = channel_kind(channel)
    if kind == "presence" and channel_data is None:
        raise _forbidden("a presence channel needs channel_data")
    if not isinstance(auth, str) or ":" not in auth:
        raise _forbidden("auth must be '<app key>:<signature>'")
    key, _, signature = auth.partition(":")
    expected = sign(project.app_secret, socket_id, channel, channel_data)
    key_ok = hmac.compare_digest(key.encode(), project.app_key.encode())
    signature_ok = hmac.compare_digest(signature.encode(), expected.encode())
    if not (key_ok and signature_ok):
        raise _forbidden("wrong key or signature")
    if kind != "presence":
        return None
    try:
        decoded: object = json.loads(cast(str, channel_data))
    except (ValueError, RecursionError):
        decoded = None
    if not isinstance(decoded, dict):
        raise _forbidden("channel_data must hold a JSON object")
    member = cast(JSONObject, decoded)
    if member.get("user_id") != user_id:
        raise _forbidden("channel_data's user_id is not this socket's user")
    return PresenceGrant(user_id, member.get("user_info"))
