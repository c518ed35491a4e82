"""Presence domain of the reference engine [protocol §4, §6, §7, §10].

A user is online while at least one of their sockets is open; ``last_seen_at`` is null while
online and the moment the last socket closed afterwards (null if never seen). The
:class:`PresenceBook` holds one ``online`` flag per user that flips exactly once per
transition, in the socket open/close hooks, and every flip is pushed as ``presence.update`` to
the sockets subscribed to that user. Snapshots (the subscribe ack and the REST route) read the
same flags, so a snapshot and the updates that follow it always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from ._errors import EngineError, JSONObject
from ._registry import Registry
from ._rest import RestContext
from ._session import Session
from ._state import EngineState, UserKey

__all__ = ["MAX_PRESENCE_IDS", "PresenceBook", "install"]

MAX_PRESENCE_IDS: Final = 1000
"""Most user ids one subscribe request (or REST query) may name."""

_IDENTITY: Final = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
_EXTRA: Final = "presence"  # key of a socket's subscriptions in Session.extras


@dataclass
class PresenceBook:
    """Per-engine presence state: online flags, last-seen stamps and subscriptions."""

    online: set[UserKey] = field(default_factory=set[UserKey])
    """Users currently online."""
    last_seen: dict[UserKey, str] = field(default_factory=dict[UserKey, str])
    """Wire timestamp of the moment each user's last socket closed."""
    watchers: dict[UserKey, dict[str, Session]] = field(
        default_factory=dict[UserKey, dict[str, Session]]
    )
    """Watched user → subscribed sockets by socket id."""

    def record(self, app_id: str, user_id: str) -> JSONObject:
        """The wire presence object of one user."""
        key = (app_id, user_id)
        online = key in self.online
        return {
            "user_id": user_id,
            "online": online,
            "last_seen_at": None if online else self.last_seen.get(key),
        }

    def subscribe(self, session: Session, user_ids: list[str]) -> None:
        """Subscribe ``session`` to ``user_ids``."""
        mine = _subscriptions(session)
        for user_id in user_ids:
            mine.add(user_id)
            self.watchers.setdefault((session.app_id, user_id), {})[session.socket_id] = session

    def unsubscribe(self, session: Session, user_ids: list[str] | set[str]) -> None:
        """Drop ``session``'s subscriptions to ``user_ids`` (unknown ids are fine)."""
        mine = _subscriptions(session)
        for user_id in list(user_ids):
            mine.discard(user_id)
            key = (session.app_id, user_id)
            socks = self.watchers.get(key)
            if socks is not None:
                socks.pop(session.socket_id, None)
                if not socks:
                    del self.watchers[key]

    def notify(self, app_id: str, user_id: str) -> None:
        """Push the user's current presence to every subscribed socket."""
        data = self.record(app_id, user_id)
        for session in list(self.watchers.get((app_id, user_id), {}).values()):
            session.send("presence.update", dict(data))


def _subscriptions(session: Session) -> set[str]:
    subs: Any = session.extras.setdefault(_EXTRA, set[str]())
    result: set[str] = subs
    return result


def parse_user_ids(value: object, field_name: str = "user_ids") -> list[str]:
    """A list of 0..1000 valid identities (duplicates removed, order kept), else 422."""
    if not isinstance(value, list):
        raise EngineError(422, "invalid", f"{field_name} must be an array of user ids")
    items: list[object] = list(value)  # pyright: ignore[reportUnknownArgumentType]
    if len(items) > MAX_PRESENCE_IDS:
        raise EngineError(
            422, "invalid", f"{field_name} holds {len(items)} ids; at most {MAX_PRESENCE_IDS}"
        )
    ids: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not _IDENTITY.fullmatch(item):
            raise EngineError(422, "invalid", f"{field_name} holds an invalid user id")
        ids[item] = None
    return list(ids)


# ---- WebSocket requests -------------------------------------------------------------------


async def _subscribe(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    book = state.domain(PresenceBook)
    user_ids = parse_user_ids(data.get("user_ids"))
    book.subscribe(session, user_ids)
    return {"users": [book.record(session.app_id, uid) for uid in user_ids]}


async def _unsubscribe(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    state.domain(PresenceBook).unsubscribe(session, parse_user_ids(data.get("user_ids")))
    return {}


# ---- socket hooks -------------------------------------------------------------------------


async def _socket_opened(state: EngineState, session: Session) -> None:
    book = state.domain(PresenceBook)
    key = (session.app_id, session.user_id)
    if key not in book.online and session.is_open:
        book.online.add(key)
        book.last_seen.pop(key, None)
        book.notify(*key)


async def _socket_closed(state: EngineState, session: Session) -> None:
    book = state.domain(PresenceBook)
    book.unsubscribe(session, set(_subscriptions(session)))
    key = (session.app_id, session.user_id)
    if key in book.online and state.sockets.count(*key) == 0:
        book.online.discard(key)
        book.last_seen[key] = state.timestamp()
        book.notify(*key)


# ---- REST ---------------------------------------------------------------------------------


async def _rest_presence(ctx: RestContext) -> JSONObject:
    raw = ctx.request.query_params.get("user_ids")
    if raw is None:
        raise EngineError(422, "invalid", "user_ids is required")
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    user_ids = parse_user_ids(ids)
    book = ctx.state.domain(PresenceBook)
    return {"data": [book.record(ctx.user.app_id, uid) for uid in user_ids]}


def install(registry: Registry) -> None:
    """Register presence requests, socket hooks and ``GET /api/v1/presence``."""
    registry.ws_handler("presence.subscribe", _subscribe, gate="signaling")
    registry.ws_handler("presence.unsubscribe", _unsubscribe, gate="signaling")
    registry.on_socket_open(_socket_opened)
    registry.on_socket_close(_socket_closed)
    registry.route("/api/v1/presence", _rest_presence, methods=["GET"], gate="signaling")
