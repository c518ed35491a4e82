"""The engine's channel table: who holds which channel, presence members, fan-out [§11].

Subscriptions are a set per socket (stored in ``session.extras["channels"]``, so one
unsubscribe releases a channel however often it was subscribed). A presence channel's members
are *users*: a user's first socket on the channel adds the member (with that socket's
``user_info``), further sockets add nobody and change nothing, and the member is removed when
its last socket on the channel unsubscribes or closes. ``channel.member_added`` /
``channel.member_removed`` go to the channel's other sockets, never to the socket that joined
or left (its ack carries the member list).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from ._channel_grants import ChannelKind, channel_kind
from ._errors import JSONObject
from ._session import Session

__all__ = [
    "CHANNELS_EXTRA",
    "MAX_CHANNELS_PER_SOCKET",
    "MAX_PRESENCE_MEMBERS",
    "Channel",
    "ChannelTable",
    "Member",
    "channels_of",
    "held_channels",
    "trigger_window",
]

MAX_CHANNELS_PER_SOCKET: Final = 100
"""Most channels one socket may hold (the 101st subscribe → 403 ``limit_exceeded``)."""
MAX_PRESENCE_MEMBERS: Final = 100
"""Most users one presence channel may hold (the 101st user → 403 ``limit_exceeded``)."""

CHANNELS_EXTRA: Final = "channels"
"""Key of a socket's channel set in ``Session.extras`` (read by ``GET /_control/sockets``)."""
_TRIGGERS_EXTRA: Final = "channel_triggers"


def held_channels(session: Session) -> set[str]:
    """The live set of channel names ``session`` holds (created empty on first use)."""
    held: Any = session.extras.setdefault(CHANNELS_EXTRA, set[str]())
    result: set[str] = held
    return result


def channels_of(session: Session) -> list[str]:
    """The channel names ``session`` holds, sorted (for ``GET /_control/sockets``)."""
    held: Any = session.extras.get(CHANNELS_EXTRA, ())
    names: list[str] = sorted(held)
    return names


def trigger_window(session: Session) -> deque[float]:
    """Loop times of the client events ``session`` had accepted recently (rate window)."""
    window: Any = session.extras.setdefault(_TRIGGERS_EXTRA, deque[float]())
    result: deque[float] = window
    return result


@dataclass
class Member:
    """A presence member: one user, with the ``user_info`` of its first socket."""

    user_info: JSONObject
    sockets: set[str] = field(default_factory=set[str])
    """Socket ids of this user holding the channel."""


@dataclass
class Channel:
    """One occupied channel of a project."""

    app_id: str
    name: str
    kind: ChannelKind
    sockets: dict[str, Session] = field(default_factory=dict[str, Session])
    """Sockets holding the channel by socket id, in subscribe order."""
    members: dict[str, Member] = field(default_factory=dict[str, Member])
    """Presence channels: members by user id, in join order (empty otherwise)."""

    def member_list(self) -> list[JSONObject]:
        """``[{"user_id", "user_info"}]`` of every member, in join order."""
        return [
            {"user_id": user_id, "user_info": member.user_info}
            for user_id, member in self.members.items()
        ]

    def send(self, event: str, data: JSONObject, *, skip: str | None = None) -> int:
        """Send ``event`` to every open socket holding the channel except ``skip``.

        Returns how many sockets it was queued to.
        """
        sent = 0
        for socket_id, session in list(self.sockets.items()):
            if socket_id != skip and session.is_open:
                session.send(event, data)
                sent += 1
        return sent


class ChannelTable:
    """Every occupied channel of an engine (``state.domain(ChannelTable)``)."""

    def __init__(self) -> None:
        self._channels: dict[tuple[str, str], Channel] = {}

    def get(self, app_id: str, name: str) -> Channel | None:
        """The channel if some socket of the project holds it."""
        return self._channels.get((app_id, name))

    def occupied(self, app_id: str) -> list[Channel]:
        """The project's occupied channels, sorted by name."""
        found = [ch for (app, _), ch in self._channels.items() if app == app_id]
        return sorted(found, key=lambda ch: ch.name)

    def join(self, session: Session, name: str, user_info: JSONObject | None) -> Channel:
        """Add ``session`` to channel ``name`` (idempotent); announce a new presence member.

        ``user_info`` is used only when the socket's user is not yet a member.
        """
        key = (session.app_id, name)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = Channel(session.app_id, name, channel_kind(name))
        channel.sockets[session.socket_id] = session
        held_channels(session).add(name)
        if channel.kind != "presence":
            return channel
        member = channel.members.get(session.user_id)
        if member is None:
            member = channel.members[session.user_id] = Member(dict(user_info or {}))
            added = {"channel": name, "user_id": session.user_id, "user_info": member.user_info}
            channel.send("channel.member_added", added, skip=session.socket_id)
        member.sockets.add(session.socket_id)
        return channel

    def leave(self, session: Session, name: str) -> bool:
        """Release channel ``name`` for ``session``; ``False`` if it did not hold it.

        When the socket was its user's last one on a presence channel, the member is removed
        and the channel's remaining sockets get ``channel.member_removed``.
        """
        held_channels(session).discard(name)
        key = (session.app_id, name)
        channel = self._channels.get(key)
        if channel is None or channel.sockets.pop(session.socket_id, None) is None:
            return False
        member = channel.members.get(session.user_id)
        if member is not None:
            member.sockets.discard(session.socket_id)
            if not member.sockets:
                del channel.members[session.user_id]
                removed = {"channel": name, "user_id": session.user_id}
                channel.send("channel.member_removed", removed, skip=session.socket_id)
        if not channel.sockets:
            del self._channels[key]
        return True

    def leave_all(self, session: Session) -> None:
        """Release every channel ``session`` holds (its socket closed)."""
        for name in sorted(held_channels(session)):
            self.leave(session, name)
