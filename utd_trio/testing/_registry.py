"""Extension points of the engine: WebSocket request handlers, REST routes, socket hooks.

Domain modules (presence, calls, chat, groups, push tokens, media) plug in here without
touching the WebSocket core. A domain module exposes ``install(registry)``; the engine calls
every installer listed in ``_domains.py`` on a fresh :class:`Registry` per engine::

    from utd_trio.testing._registry import Registry

    async def _subscribe(state, session, data):
        # validate data, record the subscription
        return {"users": [...]}            # the ack data

    def install(registry: Registry) -> None:
        registry.ws_handler("presence.subscribe", _subscribe, gate="signaling")
        registry.route("/api/v1/presence", _get_presence, methods=["GET"], gate="signaling")
        registry.on_socket_open(_went_online)
        registry.on_socket_close(_went_offline)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from ._errors import Gate, JSONObject

if TYPE_CHECKING:
    from starlette.responses import Response

    from ._rest import RestContext
    from ._session import Session
    from ._state import EngineState

__all__ = [
    "RESERVED_EVENTS",
    "Installer",
    "Registry",
    "RestHandler",
    "RouteSpec",
    "SocketHook",
    "WsBinding",
    "WsHandler",
    "normalize_event",
]

WsHandler: TypeAlias = "Callable[[EngineState, Session, JSONObject], Awaitable[JSONObject]]"
"""``async (state, session, data) -> ack data``; raise ``EngineError`` for an error reply."""

SocketHook: TypeAlias = "Callable[[EngineState, Session], Awaitable[None]]"
"""``async (state, session)``: runs when a socket opened (after its hello) or closed."""

RestHandler: TypeAlias = "Callable[[RestContext], Awaitable[Response | JSONObject]]"
"""``async (ctx) -> JSON object (200) or a starlette Response``; raise ``EngineError``."""

Installer: TypeAlias = "Callable[[Registry], None]"
"""A domain module's ``install(registry)``."""

RESERVED_EVENTS = frozenset({"ping", "pong", "ack", "error", "connection.established"})
"""Normalised event names the core owns; handlers cannot claim them."""


def normalize_event(name: str) -> str:
    """Map every ``_`` to ``.`` so ``call_answered_elsewhere`` ≡ ``call.answered_elsewhere``."""
    return name.replace("_", ".")


@dataclass(frozen=True)
class WsBinding:
    """A registered WebSocket request handler and the capability it needs."""

    event: str
    handler: WsHandler
    gate: Gate


@dataclass(frozen=True)
class RouteSpec:
    """A registered REST route (bearer-authenticated unless ``auth`` is false)."""

    path: str
    handler: RestHandler
    methods: tuple[str, ...]
    gate: Gate
    auth: bool


class Registry:
    """The handlers, routes and hooks of one engine."""

    def __init__(self) -> None:
        self._ws: dict[str, WsBinding] = {}
        self._routes: list[RouteSpec] = []
        self._open_hooks: list[SocketHook] = []
        self._close_hooks: list[SocketHook] = []
        self._route_listeners: list[Callable[[RouteSpec], None]] = []

    def ws_handler(self, event: str, handler: WsHandler, *, gate: Gate = None) -> None:
        """Register the handler of a client→server request ``event``.

        The core authenticates the socket, checks ``gate`` against the project's live plan
        (403 ``feature_disabled``), passes ``data`` (a dict; missing = ``{}``) and sends
        exactly one ``ack`` (the returned dict) or ``error`` (a raised ``EngineError``)
        with the request's ``ref``.
        """
        key = normalize_event(event)
        if key in RESERVED_EVENTS:
            raise ValueError(f"event {event!r} is reserved by the engine core")
        if key in self._ws:
            raise ValueError(f"event {event!r} already has a handler")
        self._ws[key] = WsBinding(key, handler, gate)

    def lookup(self, event: str) -> WsBinding | None:
        """Return the binding for an inbound event name (normalised), if any."""
        return self._ws.get(normalize_event(event))

    def route(
        self,
        path: str,
        handler: RestHandler,
        *,
        methods: Iterable[str] = ("GET",),
        gate: Gate = None,
        auth: bool = True,
    ) -> None:
        """Register a REST route (starlette path syntax, e.g. ``/api/v1/chat/groups/{gid}``).

        With ``auth`` the engine checks ``Authorization: Bearer`` (401) and the ban list (403)
        first, then ``gate``. Routes may be added while the engine runs.
        """
        if gate is not None and not auth:
            raise ValueError("a gated route needs auth=True (the gate is per project)")
        spec = RouteSpec(path, handler, tuple(m.upper() for m in methods), gate, auth)
        self._routes.append(spec)
        for listener in self._route_listeners:
            listener(spec)

    def on_socket_open(self, hook: SocketHook) -> None:
        """Run ``hook(state, session)`` after a socket is accepted and its hello is queued."""
        self._open_hooks.append(hook)

    def on_socket_close(self, hook: SocketHook) -> None:
        """Run ``hook(state, session)`` after a socket left the socket table."""
        self._close_hooks.append(hook)

    @property
    def routes(self) -> tuple[RouteSpec, ...]:
        """Registered REST routes, in order."""
        return tuple(self._routes)

    @property
    def open_hooks(self) -> tuple[SocketHook, ...]:
        """Hooks run when a socket opens."""
        return tuple(self._open_hooks)

    @property
    def close_hooks(self) -> tuple[SocketHook, ...]:
        """Hooks run when a socket closes."""
        return tuple(self._close_hooks)

    @property
    def events(self) -> frozenset[str]:
        """Normalised names of the registered request events."""
        return frozenset(self._ws)

    def add_route_listener(self, listener: Callable[[RouteSpec], None]) -> None:
        """Engine core: call ``listener`` for every route registered from now on."""
        self._route_listeners.append(listener)
