"""Channels domain of the reference engine: rooms and broadcast on the socket [protocol §11].

WebSocket requests (every one gated by ``signaling``: 403 ``feature_disabled`` first):

- ``channel.subscribe {"channel", "auth"?, "channel_data"?}`` → ``{"channel", "members"?}``.
  Checks in order: name (422; ``private-encrypted-`` is not offered) → grant for ``private-``
  and ``presence-`` channels (403 ``forbidden``, see ``_channel_grants.py``) → presence
  ``user_info`` from ``channel_data`` (``null`` = ``{}``, other non-object or over 1 KiB →
  422) → limits (a 101st channel on the socket, a 101st user on a presence channel: 403
  ``limit_exceeded``). A repeat subscribe is checked again and acked again with the same
  members; a refused repeat leaves the subscription held. Public channels ignore ``auth``.
- ``channel.unsubscribe {"channel"}`` → ``{}`` (a channel not held is fine; a bad name → 422).
- ``channel.trigger {"channel", "event", "data"}`` → ``{}``. Checks in order: channel name
  (422) → ``event`` starts with ``client-`` and is ≤ 200 chars (422) → ``data`` present, any
  JSON value, ≤ 10 KiB compact JSON (422) → a private or presence channel this socket holds
  (403 ``forbidden``) → at most 10 accepted in any sliding 1 s window (loop time) per socket
  (429 ``rate_limited`` with ``retry_after``). A refused event is neither counted nor
  delivered. Delivered as ``channel.event`` (with the sender's ``user_id``) to every other
  socket holding the channel, the sender's other sockets included.

The table itself (sets per socket, presence members by user, member events) is in
``_channel_table.py``; the backend REST and the development grant endpoint in
``_channel_rest.py``. :func:`channels_of` lists what a socket holds.
"""

from __future__ import annotations

import math
from typing import Final

import anyio

from . import _channel_rest
from ._channel_grants import (
    MAX_EVENT_DATA,
    channel_kind,
    check_channel_name,
    check_user_info,
    json_size,
    verify_grant,
)
from ._channel_table import (
    MAX_CHANNELS_PER_SOCKET,
    MAX_PRESENCE_MEMBERS,
    ChannelTable,
    channels_of,
    held_channels,
    trigger_window,
)
from ._errors import EngineError, JSONObject
from ._registry import Registry
from ._session import Session
from ._state import EngineState

__all__ = [
    "CLIENT_EVENT_PREFIX",
    "MAX_CLIENT_EVENTS_PER_WINDOW",
    "MAX_CLIENT_EVENT_NAME",
    "RATE_WINDOW",
    "RateLimited",
    "channels_of",
    "install",
]

CLIENT_EVENT_PREFIX: Final = "client-"
"""Every client event name starts with this."""
MAX_CLIENT_EVENT_NAME: Final = 200
"""Longest client event name (characters)."""
MAX_CLIENT_EVENTS_PER_WINDOW: Final = 10
"""Client events one socket may have accepted in any :data:`RATE_WINDOW`."""
RATE_WINDOW: Final = 1.0
"""Length (loop-clock seconds) of the sliding client-event window."""


class RateLimited(EngineError):
    """429 ``rate_limited`` whose WebSocket error data carries ``retry_after`` (whole s ≥ 1)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, "rate_limited", message)
        self.retry_after = retry_after
        """Seconds until the window has room again."""

    def frame_data(self) -> JSONObject:
        """``{"status", "code", "message", "retry_after"}``."""
        return {**super().frame_data(), "retry_after": self.retry_after}


def _limit(message: str) -> EngineError:
    return EngineError(403, "limit_exceeded", message)


async def _subscribe(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    name = check_channel_name(data.get("channel"))
    kind = channel_kind(name)
    user_info: JSONObject | None = None
    if kind != "public":
        grant = verify_grant(
            state.projects[session.app_id],
            socket_id=session.socket_id,
            user_id=session.user_id,
            channel=name,
            auth=data.get("auth"),
            channel_data=data.get("channel_data"),
        )
        if grant is not None:
            user_info = check_user_info(grant.user_info)
    table = state.domain(ChannelTable)
    held = held_channels(session)
    if name not in held and len(held) >= MAX_CHANNELS_PER_SOCKET:
        raise _limit(f"A socket may hold at most {MAX_CHANNELS_PER_SOCKET} channels")
    channel = table.get(session.app_id, name)
    if (
        kind == "presence"
        and channel is not None
        and session.user_id not in channel.members
        and len(channel.members) >= MAX_PRESENCE_MEMBERS
    ):
        raise _limit(f"A presence channel holds at most {MAX_PRESENCE_MEMBERS} members")
    channel = table.join(session, name, user_info)
    ack: JSONObject = {"channel": name}
    if kind == "presence":
        ack["members"] = channel.member_list()
    return ack


async def _unsubscribe(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    name = check_channel_name(data.get("channel"))
    state.domain(ChannelTable).leave(session, name)
    return {}


def _check_event_data(data: JSONObject) -> object:
    if "data" not in data:
        raise EngineError(422, "invalid", "data is required (any JSON value, null included)")
    payload: object = data["data"]
    try:
        size = json_size(payload)
    except (ValueError, RecursionError):
        raise EngineError(422, "invalid", "data is not serialisable JSON") from None
    if size > MAX_EVENT_DATA:
        raise EngineError(422, "invalid", f"data is over {MAX_EVENT_DATA} bytes")
    return payload


def _take_rate_slot(session: Session) -> None:
    now = anyio.current_time()
    window = trigger_window(session)
    while window and window[0] <= now - RATE_WINDOW:
        window.popleft()
    if len(window) >= MAX_CLIENT_EVENTS_PER_WINDOW:
        retry_after = max(1, math.ceil(window[0] + RATE_WINDOW - now))
        raise RateLimited(
            f"At most {MAX_CLIENT_EVENTS_PER_WINDOW} client events per second", retry_after
        )
    window.append(now)


async def _trigger(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    name = check_channel_name(data.get("channel"))
    event = data.get("event")
    if (
        not isinstance(event, str)
        or not event.startswith(CLIENT_EVENT_PREFIX)
        or len(event) > MAX_CLIENT_EVENT_NAME
    ):
        raise EngineError(
            422,
            "invalid",
            f"event must start with {CLIENT_EVENT_PREFIX!r} and be at most "
            f"{MAX_CLIENT_EVENT_NAME} characters",
        )
    payload = _check_event_data(data)
    if channel_kind(name) == "public":
        raise EngineError(403, "forbidden", "Client events need a private or presence channel")
    channel = state.domain(ChannelTable).get(session.app_id, name)
    if channel is None or session.socket_id not in channel.sockets:
        raise EngineError(403, "forbidden", "Subscribe to the channel before triggering on it")
    _take_rate_slot(session)
    message = {"channel": name, "event": event, "data": payload, "user_id": session.user_id}
    channel.send("channel.event", message, skip=session.socket_id)
    return {}


async def _socket_closed(state: EngineState, session: Session) -> None:
    state.domain(ChannelTable).leave_all(session)


def install(registry: Registry) -> None:
    """Register the channel requests, the close hook and the channel REST routes."""
    registry.ws_handler("channel.subscribe", _subscribe, gate="signaling")
    registry.ws_handler("channel.unsubscribe", _unsubscribe, gate="signaling")
    registry.ws_handler("channel.trigger", _trigger, gate="signaling")
    registry.on_socket_close(_socket_closed)
    _channel_rest.install(registry)
