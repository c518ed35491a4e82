"""`Signaling`: the facade of a session — lifecycle, state, events, and the domain verbs.

The facade composes; it does not inherit. It holds the session core (`SessionCore`: state
across connections, requests, event ingest), the supervisor, and one component per domain,
each also reachable as a namespace: ``sig.presence``, ``sig.calls``, ``sig.chat``,
``sig.groups``, ``sig.media``, ``sig.channels``. The flat verbs (``sig.invite(...)``,
``sig.send_message(...)``, …) forward to them and are documented there.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.abc

from ._backend import Latch
from ._domains._calls import Calls
from ._domains._channel_auth import GrantSource
from ._domains._channels import Channels
from ._domains._chat import Chat
from ._domains._groups import Groups
from ._domains._media import Media
from ._domains._presence import Presence
from ._events import Disconnected, Event
from ._flat_verbs import FlatVerbs
from ._models import (
    Capabilities,
    ConnectionState,
    PlanLimits,
)
from ._rest._api import UTDApi
from ._session._core import SessionCore, SessionProvider, Settings
from ._session._fanout import EventStream, Overflow
from ._session._supervisor import Supervisor
from ._transport._client import ConnectionStats, SignalClient

__all__ = ["Signaling"]


class Signaling(FlatVerbs):
    """A live UTD-Stream session of one user: lifecycle, state, events and the domain verbs.

    Made by `open_signaling`; valid inside its ``async with`` block. The verbs of each
    domain are on a namespace — `sig.presence <Presence>`, `sig.calls <Calls>`,
    `sig.chat <Chat>`, `sig.groups <Groups>`, `sig.media <Media>`,
    `sig.channels <Channels>` — and, for the common ones, directly on the session
    (``sig.invite`` is ``sig.calls.invite``).
    """

    def __init__(
        self,
        *,
        app_id: str,
        user_id: str,
        name: str | None,
        api: UTDApi,
        session_provider: SessionProvider | None,
        settings: Settings,
        rng: random.Random | None = None,
        grants: GrantSource | None = None,
    ) -> None:
        core = SessionCore(
            app_id=app_id,
            user_id=user_id,
            name=name,
            api=api,
            session_provider=session_provider,
            settings=settings,
        )
        self._core = core
        # Each component registers its event and connect hooks, in this order.
        self._presence = Presence(core)
        self._calls = Calls(core)
        self._chat = Chat(core)
        self._groups = Groups(core)
        self._media = Media(core)
        self._channels = Channels(core, grants or GrantSource(None, None, allow_insecure=False))
        self._supervisor = Supervisor(core, rng)
        self._stop = anyio.CancelScope()
        self._stopped = Latch()

    def __repr__(self) -> str:
        return (
            f"<Signaling app_id={self.app_id!r} user_id={self.user_id!r} "
            f"state={self.state.value} generation={self.generation}>"
        )

    # --- namespaces ------------------------------------------------------------------------

    @property
    def presence(self) -> Presence:
        """Presence: watch users' online state."""
        return self._presence

    @property
    def calls(self) -> Calls:
        """1:1 call invitations."""
        return self._calls

    @property
    def chat(self) -> Chat:
        """Messages, receipts, typing, history, recovery."""
        return self._chat

    @property
    def groups(self) -> Groups:
        """Chat groups and their members."""
        return self._groups

    @property
    def media(self) -> Media:
        """Push tokens and media uploads."""
        return self._media

    @property
    def channels(self) -> Channels:
        """Rooms and broadcast (Pusher-style channels)."""
        return self._channels

    # --- identity and state --------------------------------------------------------------

    @property
    def app_id(self) -> str:
        """The project's app id."""
        return self._core.app_id

    @property
    def user_id(self) -> str:
        """The identity this session acts as."""
        return self._core.user_id

    @property
    def api(self) -> UTDApi:
        """The REST client bound to the live session (every REST verb is here)."""
        return self._core.api

    @property
    def state(self) -> ConnectionState:
        """CONNECTING, CONNECTED, RECONNECTING or CLOSED, from the last proof of life."""
        return self._core.state

    @property
    def capabilities(self) -> Capabilities:
        """The current flags and limits (None fields: unknown)."""
        return self._core.capabilities

    @property
    def signaling_enabled(self) -> bool | None:
        """Whether calls, presence and channels are enabled; None when the engine did not say."""
        return self._core.signaling_enabled

    @property
    def chat_enabled(self) -> bool | None:
        """Whether chat is enabled; None when the engine did not say."""
        return self._core.chat_enabled

    @property
    def plan_limits(self) -> PlanLimits | None:
        """The plan's limits, or None when the engine did not send them."""
        return self._core.plan_limits

    @property
    def generation(self) -> int:
        """How many connections this session has had (1 after the first connect)."""
        return self._core.generation

    @property
    def reconnects(self) -> int:
        """How many times the session connected again after a drop."""
        return self._core.reconnects

    @property
    def last_disconnect(self) -> Disconnected | None:
        """The last `Disconnected` event, if any."""
        return self._core.last_disconnect

    @property
    def stats(self) -> ConnectionStats:
        """Counters of the connection: inbound frames dropped, by reason."""
        return self._core.stats

    @property
    def client(self) -> SignalClient | None:
        """The live low-level `SignalClient`, if a connection is open."""
        return self._core.client

    # --- events, waiting, raw requests ---------------------------------------------------

    def events(
        self,
        *types: type[Event],
        buffer: int | None = None,
        overflow: Overflow = "drop_oldest",
    ) -> EventStream[Event]:
        """Subscribe to events (all, or only ``types``) published from now on.

        Each stream has its own bounded buffer (``buffer``, default the session's
        ``event_buffer``). ``overflow="drop_oldest"`` drops the oldest event when full and
        counts it (`EventStream.statistics`); ``"block"`` never drops and delays delivery
        instead. Neither policy can stall the connection or its heartbeat.
        """
        return self._core.events(*types, buffer=buffer, overflow=overflow)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until a connection is established.

        Raises:
            UTDStreamError: TIMEOUT after ``timeout`` seconds; CLOSED if the session ends.
        """
        await self._core.wait_connected(timeout)

    async def request(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """Send a raw request (any event name) on the live connection; return the ack data.

        For requests this SDK has no verb for. While reconnecting it waits (within
        ``timeout``, default the session's request timeout) for the next connection; an
        ``idempotent`` request whose connection dies before the reply is sent again.
        """
        return await self._core.request(event, data, timeout=timeout, idempotent=idempotent)

    # --- lifecycle -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """End the session now (closing the socket with 1000); idempotent.

        Leaving the ``async with`` block does this too.
        """
        self._stop.cancel()
        await self._stopped.wait()
        self._core.finish()
        # REST verbs end with the session too: later calls raise CLOSED like socket verbs.
        bound = self._core.settings.close_timeout
        with anyio.CancelScope(shield=True), anyio.move_on_after(bound):
            await self.api.aclose()

    async def _supervise(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            with self._stop:
                await self._supervisor.run(task_status=task_status)
        finally:
            self._stopped.set()

    def _hold(self) -> None:
        """From now on only `_end` (leaving the block) or `aclose` stops the supervisor.

        Called once the block is entered. A cancellation of a scope around the block then
        reaches the user's code, which leaves the block (that ends the session), but not the
        session's own tasks first: a shielded cleanup in the block still has its session
        (``finally: with CancelScope(shield=True): await sig.cancel_call(...)`` goes out).
        """
        self._stop.shield = True

    def _end(self) -> None:
        """Stop the supervisor (the block is being left); `aclose` without the wait."""
        self._stop.cancel()
