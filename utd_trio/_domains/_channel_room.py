"""`ChannelRoom`: a session's channels — subscribe, resubscribe after reconnects, trigger.

The decisions are in `_protocol/_channels.py` (`ChannelTable`, held by the session's
`SessionProtocol`, which also keeps member lists current from live member events;
`ClientEventLimiter`; the checks); this module performs them on the session's connection:

- a subscribe waits (within the request timeout) for a connection, asks for a grant signed
  for *that* connection's ``socket_id`` (private and presence channels), and sends
  ``channel.subscribe`` on it; if the connection dies meanwhile it starts over on the next;
- after every reconnect a connect hook subscribes each held channel again with a fresh grant,
  and publishes the presence differences, then `ChannelResubscribed` (events sent while the
  socket was down are not replayed);
- leaving the last block that holds a channel sends ``channel.unsubscribe`` (shielded, within
  ``close_timeout``);
- a client event waits for its channel to be live on the current connection and for room in
  the 10-per-second window, then goes out once (never resent after a reconnect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio

from .._backend import Pulse
from .._errors import ErrorCode, UTDStreamError
from .._events import Event
from .._protocol import _requests as build
from .._protocol import _vocab as v
from .._protocol._channels import ClientEventLimiter, channel_kind
from .._protocol._validate import check_choice, check_size
from .._session._core import SessionCore
from .._session._fanout import EventStream, Overflow
from .._transport._client import SignalClient
from ._channel_auth import GrantSource

__all__ = ["ChannelRoom"]


class ChannelRoom:
    """The channel component of a session (one per `Signaling`)."""

    def __init__(self, session: SessionCore) -> None:
        self._session = session
        self.table = session.protocol.channels
        self._limiter = ClientEventLimiter()
        self.grants = GrantSource(None, None, allow_insecure=False)
        self._changed = Pulse()  # fired whenever a subscription lands
        session.add_connect_hook(self._resubscribe)

    # --- subscribe / unsubscribe ---------------------------------------------------------

    async def subscribe(self, name: str) -> None:
        """Subscribe ``name`` (already held in the table) on the live connection."""
        session = self._session
        deadline = anyio.current_time() + session.settings.request_timeout
        while True:
            client = await self._live_client(deadline, name)
            generation = session.generation
            if self.table.generation(name) == generation:
                return  # the reconnect hook got there first
            try:
                data = await self._subscribe_data(client, name)
                remaining = max(deadline - anyio.current_time(), 0.0)
                ack = await client.request(v.REQ_CHANNEL_SUBSCRIBE, data, timeout=remaining)
            except UTDStreamError:
                if client.is_closed:
                    # That connection died meanwhile (its grant may have been refused for a
                    # socket that is gone, or the request lost): start over on the next.
                    continue
                raise
            self._landed(self.table.subscribed(name, generation, ack))
            return

    async def unsubscribe(self, name: str) -> None:
        """Tell the engine the session no longer holds ``name`` (best effort, bounded)."""
        client = self._session.client
        if client is None:
            return  # the next connection simply does not subscribe it again
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(self._session.settings.close_timeout),
        ):
            try:
                await client.request(v.REQ_CHANNEL_UNSUBSCRIBE, build.channel_unsubscribe(name))
            except UTDStreamError as exc:
                if exc.code not in (ErrorCode.NETWORK, ErrorCode.TIMEOUT, ErrorCode.CLOSED):
                    raise

    async def _resubscribe(self, client: SignalClient, generation: int) -> None:
        """Connect hook: subscribe every held channel again, with a fresh grant."""
        for name in self.table.names():
            if self.table.generation(name) in (0, generation):
                continue  # never subscribed yet (its block is doing it), or done already
            try:
                data = await self._subscribe_data(client, name)
                ack = await client.request(v.REQ_CHANNEL_SUBSCRIBE, data)
            except UTDStreamError as exc:
                if client.is_closed:
                    return  # the next connection tries again
                self._landed(self.table.refused(name, generation, str(exc)))
            else:
                self._landed(self.table.subscribed(name, generation, ack))

    async def _subscribe_data(self, client: SignalClient, name: str) -> dict[str, Any]:
        if channel_kind(name) == "public":
            return build.channel_subscribe(name)
        socket_id = client.hello.socket_id
        if not socket_id:
            raise UTDStreamError(
                ErrorCode.PROTOCOL, "the engine's hello had no socket_id to sign a grant for"
            )
        info = self.table.user_info(name)
        auth, channel_data = await self.grants.grant(self._session.api, socket_id, name, info)
        return build.channel_subscribe(name, auth, channel_data)

    def _landed(self, events: list[Event]) -> None:
        for event in events:
            self._session.publish(event)
        self._changed.fire()

    # --- client events ---------------------------------------------------------------------

    async def trigger(self, name: str, event: str, data: Any) -> None:
        """Send a client event on a held channel (see `Channel.trigger`)."""
        body = build.channel_trigger(name, event, data)
        session = self._session
        deadline = anyio.current_time() + session.settings.request_timeout
        while True:
            client = await self._live_client(deadline, name)
            if name not in self.table:
                raise UTDStreamError(ErrorCode.CLOSED, f"{name}: the channel was released")
            if self.table.generation(name) != session.generation:
                await self._wait_change(deadline, name)  # resubscription under way
                continue
            now = anyio.current_time()
            delay = self._limiter.delay(now, session.generation)
            if delay > 0:
                await anyio.sleep(delay)
                continue
            self._limiter.sent(now)
            remaining = max(deadline - now, 0.0)
            await client.request(v.REQ_CHANNEL_TRIGGER, body, timeout=remaining)
            return

    # --- members and streams -------------------------------------------------------------

    def members(self, name: str) -> dict[str, dict[str, Any]]:
        """The live member map of a held channel."""
        return self.table.members(name)

    def events_where(
        self,
        types: tuple[type[Event], ...],
        where: Callable[[Event], bool],
        *,
        buffer: int | None,
        overflow: Overflow,
    ) -> EventStream[Event]:
        """An event stream of ``types`` filtered by ``where``."""
        session = self._session
        size = session.settings.event_buffer if buffer is None else check_size(buffer, "buffer")
        check_choice(overflow, "overflow", ("drop_oldest", "block"))
        return session.hub.subscribe(types, buffer=size, overflow=overflow, where=where)

    # --- waiting -------------------------------------------------------------------------

    async def _live_client(self, deadline: float, name: str) -> SignalClient:
        session = self._session
        while True:
            client = session.client
            if client is not None:
                return client
            remaining = deadline - anyio.current_time()
            if remaining <= 0:
                raise UTDStreamError(ErrorCode.TIMEOUT, f"{name}: no connection in time")
            await session.wait_connected(remaining)

    async def _wait_change(self, deadline: float, name: str) -> None:
        with anyio.CancelScope(deadline=deadline):
            await self._changed.wait()
            return
        raise UTDStreamError(ErrorCode.TIMEOUT, f"{name}: not subscribed again in time")
