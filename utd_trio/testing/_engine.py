"""``open_engine()``: run the reference engine on loopback for the duration of a block."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Final, NoReturn

import anyio

from ._app import build_app
from ._clock import WallClock
from ._control import EngineControl
from ._domains import INSTALLERS
from ._project import ProjectConfig
from ._registry import Registry
from ._server import ConnectionTable, open_listener
from ._session import DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_FRAMES
from ._state import DEFAULT_UPLOAD_QUOTA, EngineSettings, EngineState

__all__ = ["DEFAULT_PROJECT", "Engine", "open_engine"]

log = logging.getLogger("utd_trio.testing")

DEFAULT_PROJECT: Final = ProjectConfig(
    app_id="app_test", app_key="key_test", app_secret="secret_test"
)
"""The project an engine serves when ``open_engine(projects=None)``."""

SHUTDOWN_GRACE: Final = 2.0


class _TLS:
    """A throwaway trustme CA and the engine's server certificate."""

    def __init__(self, host: str) -> None:
        import trustme

        self.ca = trustme.CA()
        names = dict.fromkeys([host, "127.0.0.1", "::1", "localhost"])
        cert = self.ca.issue_cert(*names)
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)  # pyright: ignore[reportUnknownMemberType]
        self.server_context.set_alpn_protocols(["http/1.1"])

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(ctx)  # pyright: ignore[reportUnknownMemberType]
        return ctx


class Engine(EngineControl):
    """Handle on a running reference engine: URLs, TLS trust, control and observability.

    Control methods (``set_plan``, ``ban``, ``drop_sockets``, ``stall_sockets``,
    ``fail_next_mints``, ``revoke_tokens``, ``advance_wall_clock``, ``socket_count``,
    ``wait_socket_count``, ``mint_count``, ``stats``...) come from
    :class:`~utd_trio.testing._control.EngineControl`.
    """

    def __init__(
        self,
        state: EngineState,
        connections: ConnectionTable,
        tls: _TLS | None,
        *,
        control_http: bool = False,
    ) -> None:
        self._state = state
        self._connections = connections
        self._tls = tls
        self._control_http = control_http

    def __repr__(self) -> str:
        return f"<Engine {self.base_url} projects={list(self._state.projects)}>"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with TLS): the REST base URL."""
        return self._state.base_url

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT/ws`` (``wss://`` with TLS): what mints return as ``ws_url``."""
        return self._state.ws_url

    @property
    def control_url(self) -> str | None:
        """``http://127.0.0.1:PORT/_control`` with ``open_engine(control_http=True)``, else None."""
        return f"{self.base_url}/_control" if self._control_http else None

    @property
    def default_project(self) -> ProjectConfig:
        """The default project's current configuration (``app_test``/``key_test``/...)."""
        return self._state.project(None)

    @property
    def registry(self) -> Registry:
        """This engine's handler/route/hook registry (tests may add handlers live)."""
        return self._state.registry

    @property
    def state(self) -> EngineState:
        """The engine's in-memory state (for domain test helpers)."""
        return self._state

    @property
    def tls(self) -> bool:
        """Whether the engine serves HTTPS/WSS."""
        return self._tls is not None

    def client_ssl_context(self) -> ssl.SSLContext:
        """A new client ``SSLContext`` trusting the engine's CA (TLS engines only)."""
        if self._tls is None:
            raise RuntimeError("this engine runs without TLS (open_engine(tls=True))")
        return self._tls.client_context()

    def ca_pem(self) -> bytes:
        """The engine CA certificate in PEM (e.g. for ``curl --cacert``); TLS engines only."""
        if self._tls is None:
            raise RuntimeError("this engine runs without TLS (open_engine(tls=True))")
        return self._tls.ca.cert_pem.bytes()

    def signaling_kwargs(self, user_id: str, app_id: str | None = None) -> dict[str, Any]:
        """Keyword arguments of `open_signaling` that connect ``user_id`` to this engine.

        ``open_signaling(**engine.signaling_kwargs("alice"))`` mints with the project's app key
        (``app_id=None``: the default project); a TLS engine's CA is trusted through
        ``ssl_context``. Add or override any other argument with ``{**kwargs, ...}``.
        """
        project = self._state.project(app_id)
        kwargs: dict[str, Any] = {
            "app_id": project.app_id,
            "app_key": project.app_key,
            "user_id": user_id,
            "base_url": self.base_url,
        }
        if self._tls is not None:
            kwargs["ssl_context"] = self.client_ssl_context()
        return kwargs


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _unwrap(group: BaseExceptionGroup[BaseException]) -> NoReturn:
    """Re-raise a lone exception out of nested groups so callers see their own error."""
    raise _lone(group)


def _lone(error: BaseException) -> BaseException:
    members: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    if issubclass(type(error), BaseExceptionGroup) and len(members) == 1:
        return _lone(members[0])
    return error


@asynccontextmanager
async def open_engine(
    projects: Iterable[ProjectConfig] | None = None,
    *,
    tls: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    heartbeat_interval: float = 25.0,
    ring_timeout: float = 30.0,
    token_ttl: float = 3600.0,
    mint_rate_limit: int | None = 120,
    wall_clock: Callable[[], datetime] | None = None,
    control_http: bool = False,
    outbox_max_frames: int = DEFAULT_OUTBOX_MAX_FRAMES,
    outbox_max_bytes: int = DEFAULT_OUTBOX_MAX_BYTES,
    upload_quota: int | None = DEFAULT_UPLOAD_QUOTA,
) -> AsyncGenerator[Engine]:
    """Run a reference engine on ``host:port`` (numeric address; port 0 = pick one).

    Runs on the event loop that enters it: ``trio.run`` (hypercorn's Trio server), or
    ``asyncio.run`` and uvloop (hypercorn's asyncio server), with the same behaviour, fault
    injection and TLS; its timers use the loop's clock (``autojump_clock`` under Trio).
    ``projects=None`` serves :data:`DEFAULT_PROJECT`; otherwise the first project is the
    default for control methods. ``tls=True`` serves HTTPS/WSS with a throwaway trustme CA
    (trust it via :meth:`Engine.client_ssl_context`). ``mint_rate_limit`` is per identity per
    minute (``None`` = unlimited). ``wall_clock`` replaces ``datetime.now(UTC)`` as the source
    of wire timestamps. ``control_http=True`` also serves the control plane of contract §12
    under ``/_control/`` (answering loopback peers only; see "Testing from another process").
    A socket with more than ``outbox_max_frames`` frames or ``outbox_max_bytes`` bytes queued
    and unwritten (its client does not read) is closed with 4100; ``upload_quota`` bounds the
    media bytes each user stores (``None`` = unlimited; over it, 403 ``limit_exceeded``).
    On exit every socket is closed with 1001, then the server stops.
    """
    registry = Registry()
    for install in INSTALLERS:
        install(registry)
    settings = EngineSettings(
        heartbeat_interval,
        ring_timeout,
        token_ttl,
        mint_rate_limit,
        outbox_max_frames=outbox_max_frames,
        outbox_max_bytes=outbox_max_bytes,
        upload_quota=upload_quota,
    )
    state = EngineState(
        [DEFAULT_PROJECT] if projects is None else projects,
        settings=settings,
        clock=WallClock(wall_clock),
        registry=registry,
    )
    tls_material = _TLS(host) if tls else None
    connections = ConnectionTable()
    engine = Engine(state, connections, tls_material, control_http=control_http)
    app = build_app(state, connections.abort, engine if control_http else None)
    listener = await open_listener(
        host, port, tls_material.server_context if tls_material else None
    )
    bound_host, bound_port = listener.address
    authority = f"{_url_host(bound_host)}:{bound_port}"
    state.base_url = f"{'https' if tls else 'http'}://{authority}"
    state.ws_url = f"{'wss' if tls else 'ws'}://{authority}/ws"
    try:
        async with anyio.create_task_group() as tasks:
            state.bind_task_group(tasks)
            await tasks.start(listener.serve, app, connections)  # serve closes the listener
            log.info("engine listening on %s", state.base_url)
            try:
                yield engine
            finally:
                with anyio.CancelScope(shield=True), anyio.move_on_after(SHUTDOWN_GRACE):
                    await engine.close_all(1001, "Engine going away")
                tasks.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        _unwrap(group)
