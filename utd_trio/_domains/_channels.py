"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Channels (contract §11): rooms and broadcast on the same socket (signaling capability).
The work is done by `ChannelRoom` (`_channel_room.py`); this is the user's entry point.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from .._protocol._channels import channel_kind, check_channel_name, check_user_info
from .._session._core import SessionCore
from ._channel import Channel
from ._channel_auth import GrantSource
from ._channel_room import ChannelRoom


class Channels:
    """``sig.channels``.

    Channels: public, ``private-`` and ``presence-`` rooms with client events and backend
    broadcasts (signaling capability).
    """

    def __init__(self, core: SessionCore, grants: GrantSource) -> None:
        self._room = ChannelRoom(core)
        self._room.grants = grants

    @asynccontextmanager
    async def subscribe_channel(
        self, name: str, user_info: Mapping[str, Any] | None = None
    ) -> AsyncGenerator[Channel]:
        """Hold channel ``name`` for the block: ``async with sig.subscribe_channel(n) as ch:``.

        Entering subscribes (waiting, within the request timeout, for a connection if the
        socket is down) with a grant for this connection from ``channel_auth`` when the
        channel is ``private-`` or ``presence-``; ``user_info`` (≤ 1 KiB, presence only)
        goes to the development grant endpoint. The channel's events arrive as
        `ChannelEvent`, `ChannelMemberAdded` and `ChannelMemberRemoved` on ``sig.events()``
        and ``ch.events()``. After every reconnect the channel is subscribed again with a
        fresh grant; presence changes of the gap are published, then `ChannelResubscribed`
        — events sent during the gap are not replayed, so refetch your state there. Leaving
        the block unsubscribes (when no other block holds the channel).

        Raises:
            ValueError / TypeError: a bad name (1–164 of ``A-Za-z0-9_-=@,.;``, not
                ``private-encrypted-``), ``user_info`` on a non-presence channel, or not a
                JSON object of at most 1 KiB.
            UTDStreamError: FORBIDDEN (grant refused), LIMIT_EXCEEDED (100 channels per
                socket, 100 presence members), FEATURE_DISABLED, IDENTITY_MINT_DISABLED
                (development grants on a hardened project), TIMEOUT, CLOSED.
        """
        name = check_channel_name(name)
        info = check_user_info(user_info)
        if info is not None and channel_kind(name) != "presence":
            raise ValueError("user_info is for presence- channels only")
        room = self._room
        room.table.hold(name, info)
        try:
            await room.subscribe(name)
            channel = Channel(room, name)
            try:
                yield channel
            finally:
                channel.release()
        finally:
            subscribed = room.table.generation(name) != 0
            if room.table.release(name) and subscribed:
                await room.unsubscribe(name)
