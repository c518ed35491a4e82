"""`Channel`: what ``async with sig.subscribe_channel(name) as ch:`` yields."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .._errors import ErrorCode, UTDStreamError
from .._events import (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Event,
)
from .._protocol._channels import ChannelKind, channel_kind
from .._session._fanout import EventStream, Overflow

if TYPE_CHECKING:
    from ._channel_room import ChannelRoom

__all__ = ["CHANNEL_EVENTS", "Channel"]

CHANNEL_EVENTS: tuple[type[Event], ...] = (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
)
"""The event classes a channel's own stream carries."""

_EMPTY: Mapping[str, Mapping[str, Any]] = MappingProxyType({})


class Channel:
    """A channel this session holds, valid inside its ``subscribe_channel`` block.

    ``members`` is a read-only, live view of a presence channel's members (user id →
    ``user_info``), empty for public and private channels. ``events()`` streams this
    channel's events only (they also appear on ``sig.events()``).
    """

    def __init__(self, room: ChannelRoom, name: str) -> None:
        self._room = room
        self._name = name
        self._open = True
        self._streams: list[EventStream[Event]] = []

    def __repr__(self) -> str:
        return f"<Channel {self._name!r} {'open' if self._open else 'released'}>"

    @property
    def name(self) -> str:
        """The channel's name."""
        return self._name

    @property
    def kind(self) -> ChannelKind:
        """``public``, ``private`` or ``presence`` (by the name's prefix)."""
        return channel_kind(self._name)

    @property
    def members(self) -> Mapping[str, Mapping[str, Any]]:
        """Presence members now: user id → user_info (a live, read-only view)."""
        if not self._open:
            return _EMPTY
        return MappingProxyType(self._room.members(self._name))

    async def trigger(self, event: str, data: Any) -> None:
        """Send client event ``event`` (``client-…``) with ``data`` to the channel's others.

        Only on private and presence channels; ``data`` is any JSON value of at most
        10 KiB. The engine takes 10 client events per second per socket: a trigger that
        would exceed that waits until it fits (under a second), never fails for it. The
        event reaches every *other* socket on the channel (this user's other devices
        included), never this one.

        Raises:
            ValueError / TypeError: a public channel, a name without ``client-`` or over
                200 characters, ``data`` too large or not JSON.
            UTDStreamError: CLOSED after the block ended; FORBIDDEN, RATE_LIMITED,
                TIMEOUT, NETWORK (a client event is not sent again after a reconnect).
        """
        if not self._open:
            raise UTDStreamError(ErrorCode.CLOSED, f"{self._name}: the channel was released")
        await self._room.trigger(self._name, event, data)

    def events(
        self, *, buffer: int | None = None, overflow: Overflow = "drop_oldest"
    ) -> EventStream[Event]:
        """Subscribe to this channel's events from now on (same shape as ``sig.events()``).

        The stream ends when the ``subscribe_channel`` block ends.
        """
        if not self._open:
            raise UTDStreamError(ErrorCode.CLOSED, f"{self._name}: the channel was released")
        name = self._name

        def on_this_channel(event: Event) -> bool:
            return getattr(event, "channel", None) == name

        stream = self._room.events_where(
            CHANNEL_EVENTS, on_this_channel, buffer=buffer, overflow=overflow
        )
        self._streams.append(stream)
        return stream

    def release(self) -> None:
        """End this handle: its streams stop (the block's exit calls this)."""
        self._open = False
        for stream in self._streams:
            stream.close()
        self._streams.clear()
