"""`open_signaling()`: the session, scoped to a task group, that most users touch."""

from __future__ import annotations

import random
import ssl
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager

import anyio
import httpx

from ._backend import create_task_group
from ._domains._channel_auth import ChannelAuth, GrantSource
from ._errors import UTDStreamError
from ._protocol import _vocab as v
from ._protocol._validate import (
    check_bool,
    check_callable,
    check_identity,
    check_instance,
    check_mint_fields,
    check_non_empty,
    check_seconds,
    check_size,
)
from ._rest._api import UTDApi
from ._session._core import SessionProvider, Settings
from ._signaling import Signaling
from ._transport._connect import collapse, reraise

__all__ = ["open_signaling"]


@asynccontextmanager
async def open_signaling(
    *,
    app_id: str,
    user_id: str,
    app_key: str | None = None,
    session_provider: SessionProvider | None = None,
    base_url: str = v.DEFAULT_BASE_URL,
    name: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure: bool = False,
    http_client: httpx.AsyncClient | None = None,
    connect_timeout: float = 20.0,
    request_timeout: float = 10.0,
    heartbeat_timeout: float = v.DEFAULT_HEARTBEAT_TIMEOUT,
    close_timeout: float = 2.0,
    event_buffer: int = 1024,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    rng: random.Random | None = None,
    channel_auth: ChannelAuth = None,
    channel_auth_headers: Mapping[str, str] | None = None,
) -> AsyncGenerator[Signaling]:
    """Open a supervised session for ``user_id`` and yield it once the first connection is up.

    Exactly one of ``app_key`` (development mint, identity asserted by the client) or
    ``session_provider`` (an async callable returning the mint JSON from your own backend,
    called on every (re)connect) must be given.

    The block owns a task group running the supervisor (mint → connect → heartbeat → reconnect
    with full-jitter backoff) and the event dispatcher. Leaving it — normally, by exception or
    by cancellation — closes the socket with 1000 within ``close_timeout`` seconds.

    Args:
        app_id: the project's public app id.
        user_id: the identity to act as (1–128 of ``[A-Za-z0-9_.@-]``).
        app_key: the project's publishable app key (development mint).
        session_provider: async callable returning the engine's mint JSON (or a `Session`).
        base_url: the engine's REST base URL.
        name: display name sent with the mint.
        ssl_context: TLS context (e.g. trusting a private CA) for REST and WebSocket.
        allow_insecure: allow plain http/ws to non-loopback hosts.
        http_client: an `httpx.AsyncClient` to share (not closed by the session).
        connect_timeout: how long the *first* connection may take, retries included.
        request_timeout: default deadline of a request, waiting for a reconnect included.
        heartbeat_timeout: extra silence tolerated beyond the heartbeat interval.
        close_timeout: bound on the close when leaving the block.
        event_buffer: default buffer size of each event stream.
        backoff_base: first backoff ceiling in seconds.
        backoff_cap: largest backoff ceiling in seconds.
        rng: random source of the backoff jitter (for reproducible tests); by default one
            generator shared by every session of the process.
        channel_auth: where grants for private and presence channels come from: None
            (the engine's development endpoint), the URL of your backend's Pusher-style
            auth endpoint (form POST of ``socket_id`` and ``channel_name``), or an async
            callable ``(socket_id, channel_name) -> grant``.
        channel_auth_headers: headers sent to a ``channel_auth`` URL (e.g. your own
            session cookie or token).

    Raises:
        ValueError: a bad argument, before any network call, naming it (a wrong type is
            also a TypeError): blank ids, timeouts and backoffs that are not finite
            numbers > 0, an ``event_buffer`` < 1, a non-bool ``allow_insecure``, text with
            a lone surrogate, plain http to a host that is not loopback.
        UTDStreamError: a terminal error (banned, identity mint disabled, 4003), or bad
            credentials / no connection within ``connect_timeout`` at the start.
    """
    check_non_empty(app_id, "app_id")
    check_identity(user_id, "user_id")
    if (app_key is None) == (session_provider is None):
        raise ValueError("pass exactly one of app_key or session_provider")
    if app_key is not None:
        check_non_empty(app_key, "app_key")
    else:
        check_callable(session_provider, "session_provider")
    if name is not None:
        check_mint_fields({"name": name})
    check_instance(ssl_context, "ssl_context", ssl.SSLContext, "an ssl.SSLContext")
    check_bool(allow_insecure, "allow_insecure")
    check_instance(http_client, "http_client", httpx.AsyncClient, "an httpx.AsyncClient")
    for label, seconds in (
        ("connect_timeout", connect_timeout),
        ("request_timeout", request_timeout),
        ("heartbeat_timeout", heartbeat_timeout),
        ("close_timeout", close_timeout),
        ("backoff_base", backoff_base),
        ("backoff_cap", backoff_cap),
    ):
        check_seconds(seconds, label)
    if backoff_cap < backoff_base:
        raise ValueError(
            f"backoff_cap ({backoff_cap!r}) must be >= backoff_base ({backoff_base!r})"
        )
    check_size(event_buffer, "event_buffer")
    check_instance(rng, "rng", random.Random, "a random.Random")
    grants = GrantSource(channel_auth, channel_auth_headers, allow_insecure=allow_insecure)
    settings = Settings(
        ssl_context=ssl_context,
        allow_insecure=allow_insecure,
        connect_timeout=connect_timeout,
        request_timeout=request_timeout,
        heartbeat_timeout=heartbeat_timeout,
        close_timeout=close_timeout,
        event_buffer=event_buffer,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
    )
    api = UTDApi(
        app_id=app_id,
        base_url=base_url,
        app_key=app_key,
        http_client=http_client,
        ssl_context=ssl_context,
        allow_insecure=allow_insecure,
        timeout=request_timeout,
    )
    sig = Signaling(
        app_id=app_id,
        user_id=user_id,
        name=name,
        api=api,
        session_provider=session_provider,
        settings=settings,
        rng=rng,
        grants=grants,
    )
    ended_by: UTDStreamError | None = None  # None: closed by the user
    mine: Exception | None = None
    try:
        try:
            async with create_task_group() as tasks:
                # The dispatcher starts in this group on first need (a `block` stream).
                sig._core.hub.attach(tasks.start_soon)  # pyright: ignore[reportPrivateUsage]
                await tasks.start(sig._supervise)  # pyright: ignore[reportPrivateUsage]
                # Open: outer cancellation now reaches the block, which ends the session on
                # its way out (below), not the session's tasks first (`Signaling._hold`).
                sig._hold()  # pyright: ignore[reportPrivateUsage]
                try:
                    yield sig
                except Exception as exc:
                    # The user's own exception never enters the task group: it is not wrapped
                    # in a group, not mistaken for the library's I/O failure, and leaves
                    # the block unchanged (same object, same traceback) after the teardown.
                    mine = exc
                finally:
                    sig._end()  # pyright: ignore[reportPrivateUsage]
                    tasks.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            error = collapse(group)
            if mine is None:
                if isinstance(error, UTDStreamError):
                    ended_by = error
                reraise(error)
        except UTDStreamError as error:
            if mine is None:
                ended_by = error
                raise
        if mine is not None:
            raise mine
    finally:
        sig._core.finish(ended_by)  # pyright: ignore[reportPrivateUsage]
        with anyio.CancelScope(shield=True), anyio.move_on_after(close_timeout):
            await api.aclose()
