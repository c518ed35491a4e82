"""Channels (contract §11) without I/O: names, local checks, grants, members, the rate window.

`ChannelTable` is the session's memory of the channels it holds: how many `subscribe_channel`
blocks hold each one, the ``user_info`` it joins with, and for presence channels the current
members. It turns acks and member events into member-map updates and, after a reconnect, the
differences to report (members added / removed during the gap, then `ChannelResubscribed`).
`ClientEventLimiter` says how long a client event must wait to stay within the engine's
10-per-second window. `sign_grant` is the Pusher-compatible HMAC a backend signs grants with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

from .._events import (
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Event,
)
from . import _vocab as v
from ._parse import parse_object, parse_str

__all__ = [
    "ChannelKind",
    "ChannelTable",
    "ClientEventLimiter",
    "channel_kind",
    "check_channel_name",
    "check_client_event",
    "check_user_info",
    "compact_size",
    "parse_grant",
    "parse_members",
    "sign_grant",
]

ChannelKind = Literal["public", "private", "presence"]

_NAME: Final = re.compile(rf"{v.CHANNEL_NAME_CHARS}{{1,{v.CHANNEL_NAME_MAX}}}")

CLIENT_EVENT_WINDOW: Final = 1.1
"""Seconds of the client's sliding window: the engine's 1 s plus a margin for jitter."""


def channel_kind(name: str) -> ChannelKind:
    """``presence``, ``private`` or ``public``, by the name's prefix."""
    if name.startswith(v.CHANNEL_PRESENCE_PREFIX):
        return "presence"
    if name.startswith(v.CHANNEL_PRIVATE_PREFIX):
        return "private"
    return "public"


def check_channel_name(name: object, field_name: str = "name") -> str:
    """A valid channel name, or TypeError / ValueError naming ``field_name``."""
    if not isinstance(name, str):
        raise TypeError(f"{field_name} must be a str, got {type(name).__name__}")
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise ValueError(
            f"{field_name} must be 1–{v.CHANNEL_NAME_MAX} characters of A-Z a-z 0-9 _ - = @ , . ;"
            f" got {shown!r}"
        )
    if name.startswith(v.CHANNEL_ENCRYPTED_PREFIX):
        raise ValueError(f"{field_name}: encrypted channels (private-encrypted-…) are not offered")
    return name


def compact_size(value: object, field_name: str) -> int:
    """UTF-8 bytes of ``value`` as compact JSON (how the engine measures sizes)."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return len(text.encode())
    except UnicodeEncodeError:
        raise ValueError(f"{field_name} holds a lone surrogate (not valid Unicode)") from None
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{field_name} must be JSON-serializable: {exc}") from None


def check_user_info(user_info: object) -> dict[str, Any] | None:
    """A presence ``user_info`` (a JSON object of at most 1 KiB), or None."""
    if user_info is None:
        return None
    if not isinstance(user_info, Mapping):
        raise TypeError(f"user_info must be a mapping, got {type(user_info).__name__}")
    info = {str(k): val for k, val in cast("Mapping[object, Any]", user_info).items()}
    size = compact_size(info, "user_info")
    if size > v.CHANNEL_USER_INFO_MAX_BYTES:
        raise ValueError(f"user_info is {size} bytes; the limit is {v.CHANNEL_USER_INFO_MAX_BYTES}")
    return info


def check_client_event(channel: str, event: object, data: object) -> str:
    """The checks the engine applies to ``channel.trigger``, done before sending."""
    if channel_kind(channel) == "public":
        raise ValueError(
            f"client events need a private- or presence- channel; {channel!r} is public"
        )
    if not isinstance(event, str):
        raise TypeError(f"event must be a str, got {type(event).__name__}")
    if not event.startswith(v.CLIENT_EVENT_PREFIX) or len(event) > v.CLIENT_EVENT_NAME_MAX:
        raise ValueError(
            f"event must start with {v.CLIENT_EVENT_PREFIX!r} and be at most "
            f"{v.CLIENT_EVENT_NAME_MAX} characters, got {event[:40]!r}"
        )
    compact_size(event, "event")  # refuses lone surrogates
    size = compact_size(data, "data")
    if size > v.CHANNEL_EVENT_MAX_BYTES:
        raise ValueError(f"data is {size} bytes as JSON; the limit is {v.CHANNEL_EVENT_MAX_BYTES}")
    return event


def parse_grant(grant: object, source: str) -> tuple[str, str | None]:
    """``(auth, channel_data)`` of a grant; TypeError naming ``source`` when unusable."""
    obj = parse_object(grant)
    auth = None if obj is None else obj.get(v.GRANT_AUTH)
    if not isinstance(auth, str) or ":" not in auth:
        raise TypeError(f"{source} must give a grant {{'auth': '<key>:<signature>', ...}}")
    data = None if obj is None else obj.get(v.GRANT_CHANNEL_DATA)
    if data is not None and not isinstance(data, str):
        raise TypeError(f"{source}: channel_data must be a JSON string")
    return auth, data


def sign_grant(
    key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> dict[str, str]:
    """The Pusher-compatible grant: ``auth`` = key + HMAC-SHA256 of the socket and channel."""
    subject = f"{socket_id}:{channel}" + ("" if channel_data is None else f":{channel_data}")
    digest = hmac.new(secret.encode(), subject.encode(), hashlib.sha256).hexdigest()
    grant = {v.GRANT_AUTH: f"{key}:{digest}"}
    if channel_data is not None:
        grant[v.GRANT_CHANNEL_DATA] = channel_data
    return grant


def parse_members(ack: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """user_id → user_info from a presence subscribe ack (unusable items skipped)."""
    members: dict[str, dict[str, Any]] = {}
    raw = ack.get("members")
    items: list[Any] = raw if isinstance(raw, list) else []  # pyright: ignore[reportUnknownVariableType]
    for item in items:
        obj = parse_object(item)
        user_id = None if obj is None else parse_str(obj.get("user_id"))
        if obj is not None and user_id:
            members[user_id] = parse_object(obj.get("user_info")) or {}
    return members


@dataclass(slots=True)
class _Held:
    holders: int
    user_info: dict[str, Any] | None
    members: dict[str, dict[str, Any]] = field(default_factory=dict[str, dict[str, Any]])
    generation: int = 0  # the connection it was last subscribed on (0: never)


class ChannelTable:
    """The channels a session holds, their members, and what a reconnect changed."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._held

    def names(self) -> list[str]:
        """Every held channel, in the order first held."""
        return list(self._held)

    def hold(self, name: str, user_info: dict[str, Any] | None) -> None:
        """One more `subscribe_channel` block holds ``name`` (the first one's user_info wins)."""
        held = self._held.get(name)
        if held is None:
            self._held[name] = _Held(1, user_info)
        else:
            held.holders += 1

    def release(self, name: str) -> bool:
        """One block let go of ``name``; True when it was the last (time to unsubscribe)."""
        held = self._held.get(name)
        if held is None:
            return False
        held.holders -= 1
        if held.holders > 0:
            return False
        del self._held[name]
        return True

    def user_info(self, name: str) -> dict[str, Any] | None:
        """The ``user_info`` the session joins ``name`` with."""
        held = self._held.get(name)
        return None if held is None else held.user_info

    def members(self, name: str) -> dict[str, dict[str, Any]]:
        """The live member map of ``name`` (empty for public and private channels)."""
        held = self._held.get(name)
        return {} if held is None else held.members

    def generation(self, name: str) -> int:
        """The connection ``name`` was last subscribed on (0: not yet)."""
        held = self._held.get(name)
        return 0 if held is None else held.generation

    def subscribed(self, name: str, generation: int, ack: Mapping[str, Any]) -> list[Event]:
        """The engine acked a subscribe on connection ``generation``: the events to publish.

        A first subscription publishes nothing (the ack is the state). A subscription again
        after a reconnect publishes the presence differences, then `ChannelResubscribed`.
        """
        held = self._held.get(name)
        if held is None:
            return []
        again = held.generation not in (0, generation)
        held.generation = generation
        events: list[Event] = []
        if channel_kind(name) == "presence":
            new = parse_members(ack)
            if again:
                events.extend(
                    ChannelMemberAdded(name, user_id, info)
                    for user_id, info in new.items()
                    if user_id not in held.members
                )
                events.extend(
                    ChannelMemberRemoved(name, user_id)
                    for user_id in held.members
                    if user_id not in new
                )
            held.members.clear()  # the same dict: views handed out stay live
            held.members.update(new)
        if again:
            events.append(ChannelResubscribed(name, generation))
        return events

    def refused(self, name: str, generation: int, error: str) -> list[Event]:
        """A subscribe again after a reconnect was refused: report it."""
        held = self._held.get(name)
        if held is None:
            return []
        held.generation = generation
        held.members.clear()
        return [ChannelResubscribed(name, generation, error)]

    def on_event(self, event: Event) -> None:
        """Keep the member map current from live member events."""
        if isinstance(event, ChannelMemberAdded):
            held = self._held.get(event.channel)
            if held is not None:
                held.members[event.user_id] = dict(event.user_info)
        elif isinstance(event, ChannelMemberRemoved):
            held = self._held.get(event.channel)
            if held is not None:
                held.members.pop(event.user_id, None)


class ClientEventLimiter:
    """The engine accepts 10 client events per socket in any sliding second: wait, not fail.

    The send times are kept only once a client event was sent (most sessions never send one).
    """

    def __init__(
        self, limit: int = v.CLIENT_EVENTS_PER_SECOND, window: float = CLIENT_EVENT_WINDOW
    ) -> None:
        self._limit = limit
        self._window = window
        self._sent: deque[float] | None = None
        self._generation = 0

    def delay(self, now: float, generation: int) -> float:
        """Seconds to wait before one more client event may go out on ``generation``."""
        sent = self._sent
        if sent is None:
            self._generation = generation
            return 0.0
        if generation != self._generation:  # the engine counts per socket
            sent.clear()
            self._generation = generation
        while sent and sent[0] <= now - self._window:
            sent.popleft()
        if len(sent) < self._limit:
            return 0.0
        return sent[0] + self._window - now

    def sent(self, now: float) -> None:
        """A client event went out at ``now``."""
        if self._sent is None:
            self._sent = deque()
        self._sent.append(now)
