"""The state a `Signaling` session keeps across connection generations.

`SessionCore` is what the domain components (presence, calls, chat, …) are given. It holds the
session's sans-IO `SessionProtocol` — every decision and all the state — and is its shell: it
sends requests on whichever connection is live (waiting, within the request's deadline, while
reconnecting), hands every inbound frame to the protocol and publishes the event it returns,
runs the protocol's timer (`Ticker`), and lets the components run I/O on every new connection
generation (connect hooks). The `Signaling` facade holds one, the components and the
supervisor; nothing inherits from it.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from .._backend import Pulse, current_clock
from .._errors import ErrorCode, UTDStreamError
from .._events import Disconnected, Event
from .._models import Capabilities, ConnectionState, PlanLimits, Session
from .._protocol import _vocab as v
from .._protocol._codec import Frame
from .._protocol._parse import WireFormatError, parse_session
from .._protocol._request_plan import RequestPlan
from .._protocol._session_protocol import SessionProtocol
from .._protocol._validate import (
    check_choice,
    check_provider_call,
    check_provider_reply,
    check_seconds,
    check_size,
)
from .._rest._api import UTDApi
from .._transport._client import ConnectionStats, OnReply, SignalClient
from ._fanout import EventHub, EventStream, Overflow
from ._ticker import Ticker

log = logging.getLogger("utd_trio.signaling")

SessionProvider = Callable[[], Awaitable[Mapping[str, Any] | Session]]
ConnectHook = Callable[[SignalClient, int], Awaitable[None]]


@dataclass(frozen=True)
class Settings:
    """Tunables of a session (see `open_signaling` for their meaning)."""

    ssl_context: ssl.SSLContext | None = None
    allow_insecure: bool = False
    connect_timeout: float = 20.0
    request_timeout: float = 10.0
    heartbeat_timeout: float = v.DEFAULT_HEARTBEAT_TIMEOUT
    close_timeout: float = 2.0
    event_buffer: int = 1024
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


@dataclass
class _Live:
    """The live connection, and an event fired when it is replaced or lost."""

    client: SignalClient | None = None
    changed: Pulse = field(default_factory=Pulse)

    def replace(self, client: SignalClient | None) -> None:
        """Switch to ``client`` (None: no connection) and wake everyone waiting."""
        self.client = client
        self.changed.fire()


class SessionCore:
    """Lifecycle state, requests and event ingest shared by every domain of a session."""

    def __init__(
        self,
        *,
        app_id: str,
        user_id: str,
        name: str | None,
        api: UTDApi,
        session_provider: SessionProvider | None,
        settings: Settings,
    ) -> None:
        self.app_id = app_id
        self.user_id = user_id
        self.name = name
        self.api = api
        self.settings = settings
        self.stats = ConnectionStats()
        self.protocol = SessionProtocol(
            backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap,
            connect_timeout=settings.connect_timeout,
            stats=self.stats,
        )
        """The session's sans-IO core: every decision and all the state."""
        self.machine = self.protocol.lifecycle
        """The lifecycle part of it (generation, state, capabilities, reconnect or stop)."""
        self._provider = session_provider
        self._hub = EventHub(backlog=settings.event_buffer)
        self._live = _Live()
        self._loop_clock: Callable[[], float] | None = None
        self._connect_hooks: list[ConnectHook] = []
        self._ticker = Ticker(self.protocol, self._hub.publish)
        self._connect_hooks.append(self._ticker.connected)

    # --- public state ----------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """How many connections this session has had (1 after the first connect)."""
        return self.machine.generation

    @property
    def reconnects(self) -> int:
        """How many times the session connected again after a drop."""
        return self.machine.reconnects

    @property
    def last_disconnect(self) -> Disconnected | None:
        """The last `Disconnected` event, if any."""
        return self.machine.last_disconnect

    @property
    def state(self) -> ConnectionState:
        """CONNECTING, CONNECTED, RECONNECTING or CLOSED, from the last proof of life."""
        client = self._live.client
        return self.machine.state(alive=client is not None and client.alive)

    @property
    def capabilities(self) -> Capabilities:
        """The current flags and limits (None fields: unknown)."""
        return self.machine.capabilities

    @property
    def signaling_enabled(self) -> bool | None:
        """Whether calls and presence are enabled; None when the engine did not say."""
        return self.machine.capabilities.signaling_enabled

    @property
    def chat_enabled(self) -> bool | None:
        """Whether chat is enabled; None when the engine did not say."""
        return self.machine.capabilities.chat_enabled

    @property
    def plan_limits(self) -> PlanLimits | None:
        """The plan's limits, or None when the engine did not send them."""
        return self.machine.capabilities.plan_limits

    @property
    def client(self) -> SignalClient | None:
        """The live `SignalClient`, if a connection is open."""
        client = self._live.client
        return client if client is not None and not client.is_closed else None

    def events(
        self,
        *types: type[Event],
        buffer: int | None = None,
        overflow: Overflow = "drop_oldest",
    ) -> EventStream[Event]:
        """Subscribe to events (all, or only ``types``) published from now on.

        Each stream has its own bounded buffer (``buffer``, default the session's
        ``event_buffer``). ``overflow="drop_oldest"`` drops the oldest event when full and
        counts it in ``stream.dropped``; ``"block"`` never drops and delays delivery instead.
        Neither policy can stall the connection or its heartbeat.
        """
        size = self.settings.event_buffer if buffer is None else check_size(buffer, "buffer")
        check_choice(overflow, "overflow", ("drop_oldest", "block"))
        return self._hub.subscribe(types, buffer=size, overflow=overflow)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until a connection is established.

        Raises:
            UTDStreamError: TIMEOUT after ``timeout`` seconds; CLOSED if the session ends.
        """
        limit = check_seconds(timeout, "timeout", allow_none=True)
        deadline = anyio.current_time() + (limit if limit is not None else float("inf"))
        await self._wait_client(deadline, "wait_connected")

    # --- hooks for domain modules --------------------------------------------------------

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run ``hook(client, generation)`` in the connection's task group after each connect."""
        self._connect_hooks.append(hook)

    @property
    def connect_hooks(self) -> tuple[ConnectHook, ...]:
        """The registered connect hooks, in order."""
        return tuple(self._connect_hooks)

    @property
    def hub(self) -> EventHub:
        """The fan-out of this session's events (its dispatcher runs in the session's tasks)."""
        return self._hub

    def publish(self, event: Event) -> None:
        """Publish an event to every subscriber (never blocks)."""
        self._hub.publish(event)

    # --- requests ------------------------------------------------------------------------

    async def request(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        idempotent: bool = False,
        on_reply: OnReply | None = None,
        on_resend: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Send a request on the live connection and return the ack data.

        While reconnecting it waits (within ``timeout``) for the next connection instead of
        failing at once. An ``idempotent`` request whose connection dies before the reply is
        sent again on the next connection, within the same deadline (``on_resend`` is called
        right before). ``on_reply`` sees the reply where it arrived (`SignalClient.request`).
        """
        limit = self.settings.request_timeout if timeout is None else timeout
        now = self._clock()
        plan = RequestPlan.start(event, now(), limit, idempotent=idempotent)
        while True:
            client = await self._wait_client(plan.deadline, event)
            remaining = plan.remaining(now())
            if plan.resending and on_resend is not None:
                on_resend()
            try:
                return await client.request(event, data, timeout=remaining, on_reply=on_reply)
            except UTDStreamError as exc:
                closed = self.machine.closed_for_good
                if not plan.retry(exc, connection_closed=client.is_closed, session_closed=closed):
                    raise
                log.debug("%s: connection lost before the reply; resending", event)

    def _clock(self) -> Callable[[], float]:
        """The running loop's clock function (looked up once: requests are a hot path)."""
        clock = self._loop_clock
        if clock is None:
            clock = self._loop_clock = current_clock()
        return clock

    async def _wait_client(self, deadline: float, what: str) -> SignalClient:
        while True:
            if self.machine.closed_for_good:
                raise UTDStreamError(ErrorCode.CLOSED, f"{what}: the session is closed")
            client = self._live.client
            if client is not None and not client.is_closed:
                return client
            # No client, or a dead one the supervisor has not replaced yet: wait for a change.
            changed = self._live.changed
            with anyio.CancelScope(deadline=deadline):
                await changed.wait()
                continue
            raise UTDStreamError(ErrorCode.TIMEOUT, f"{what}: not connected in time")

    # --- session source ------------------------------------------------------------------

    @property
    def has_provider(self) -> bool:
        """Whether sessions come from a ``session_provider`` (else from an app-key mint)."""
        return self._provider is not None

    async def fetch_session(self) -> Session:
        """A fresh session: from the provider if one was given, else an app-key mint."""
        if self._provider is None:
            return await self.api.mint_session(self.user_id, name=self.name)
        raw = check_provider_reply(await check_provider_call(self._provider()))
        if isinstance(raw, Session):
            return raw
        try:
            return parse_session(raw)
        except WireFormatError as exc:
            raise UTDStreamError(ErrorCode.PROTOCOL, f"session_provider returned {exc}") from None

    # --- supervisor callbacks ------------------------------------------------------------

    def on_established(self, client: SignalClient, session: Session) -> None:
        """A new connection generation is up: switch to ``client``, publish what it means."""
        events = self.protocol.established(session, client.hello)
        self._live.replace(client)
        for event in events:
            self._hub.publish(event)

    def on_disconnected(self, event: Disconnected) -> None:
        """The live connection is gone: record ``event``, wake waiters and publish it."""
        self.machine.disconnected(event)
        self._live.replace(None)
        self._hub.publish(event)

    def finish(self, error: UTDStreamError | None = None) -> None:
        """The session is over (``error``: why; None: the user closed it), once.

        Publishes the final `Disconnected` the machine returns, wakes waiters and ends every
        event stream.
        """
        final = self.machine.finish(error)
        if not final:
            return
        self._live.replace(None)
        for event in final:
            self._hub.publish(event)
        self._hub.close()

    def ingest(self, frame: Frame) -> None:
        """An inbound server event: through the protocol, then published (the receive loop)."""
        clock = self._loop_clock or self._clock()
        event = self.protocol.receive(frame, clock())
        if event is not None:
            self._hub.publish(event)
            self._ticker.changed()
