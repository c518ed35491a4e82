"""Opening one `SignalClient`: TCP (+TLS), WebSocket upgrade, hello, and a bounded close."""

from __future__ import annotations

import json
import logging
import math
import ssl
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import NoReturn, cast

import anyio

from .._backend import ByteStream, StreamBroken, create_task_group, open_stream
from .._errors import ErrorCode, UTDStreamError
from .._models import Session
from .._protocol import _vocab as v
from .._protocol._classify import classify, close_error, transport_error
from .._protocol._codec import Frame, decode_frame, event_key
from .._protocol._parse import parse_float, parse_object, parse_str, parse_time
from .._protocol._urls import redact_url, upgrade_target, ws_url_with_token
from .._protocol._validate import check_bool, check_instance, check_seconds
from ._client import ConnectionStats, Hello, SignalClient
from ._tls import default_ssl_context
from ._websocket import HandshakeRejected, WebSocket, WebSocketClosed

__all__ = ["collapse", "open_signal_client", "reraise"]

log = logging.getLogger("utd_trio.client")

_ESTABLISHED = event_key(v.EV_ESTABLISHED)

# One read takes up to this much: a burst of frames is parsed in one wake-up.
_RECEIVE_BUFFER = 64 * 1024
# Frames over 1 MiB are dropped and counted by the codec; the transport closes the socket
# (1009) only past this much larger guard, which bounds memory per frame.
_MAX_MESSAGE = 16 * 1024 * 1024


def _hello_from(frame: Frame) -> Hello:
    interval = parse_float(frame.data.get(v.HELLO_HEARTBEAT_INTERVAL))
    if interval is None or interval <= 0 or not math.isfinite(interval):
        interval = v.DEFAULT_HEARTBEAT_INTERVAL
    return Hello(
        socket_id=parse_str(frame.data.get(v.HELLO_SOCKET_ID)),
        user_id=parse_str(frame.data.get(v.HELLO_USER_ID)),
        heartbeat_interval=interval,
        server_time=parse_time(frame.data.get(v.HELLO_SERVER_TIME)),
    )


def _rejected(status: int, body: bytes | None) -> UTDStreamError:
    message = None
    if body:
        try:
            message = parse_str((parse_object(json.loads(body)) or {}).get("message"))
        except ValueError:
            message = None
    return classify(status, message or f"WebSocket upgrade refused with HTTP {status}")


def _close_before_hello(code: int | None, reason: str) -> UTDStreamError:
    return close_error(code, f"engine closed the socket before hello: {reason}")


async def _open_stream(url: str, ssl_context: ssl.SSLContext | None) -> tuple[ByteStream, str, str]:
    """TCP (and TLS for wss) to the URL's host; returns the stream, Host header, resource."""
    host, port, secure, host_header, resource = upgrade_target(url)
    context = (ssl_context or default_ssl_context()) if secure else None
    try:
        stream = await open_stream(host, port, context)
    except OSError as exc:
        raise _dial_error(exc, url, f"cannot connect: {exc.strerror or exc}") from exc
    except StreamBroken as exc:
        raise _dial_error(exc, url, f"TLS handshake failed: {exc}") from exc
    return stream, host_header, resource


def _dial_error(exc: BaseException, url: str, detail: str) -> UTDStreamError:
    """A failed dial of the WebSocket (see `transport_error`)."""
    target = upgrade_target(url)
    scheme = "wss" if target.secure else "ws"
    return transport_error(
        exc, f"WebSocket {scheme}://{target.host_header}", detail, host=target.host
    )


async def _wait_hello(ws: WebSocket, stats: ConnectionStats) -> tuple[Hello, list[str | bytes]]:
    """Read up to the hello; return it and the messages that came after it in the same read."""
    while True:
        try:
            messages = await ws.receive()
        except WebSocketClosed as exc:
            raise _close_before_hello(exc.code, exc.reason or "closed before hello") from None
        for i, message in enumerate(messages):
            stats.frames_received += 1
            frame = decode_frame(message)
            if isinstance(frame, Frame) and frame.event == _ESTABLISHED:
                return _hello_from(frame), messages[i + 1 :]
            stats.count_drop("before_hello")


@asynccontextmanager
async def open_signal_client(
    session: Session,
    *,
    on_frame: Callable[[Frame], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    allow_insecure: bool = False,
    connect_timeout: float = 10.0,
    request_timeout: float = 10.0,
    heartbeat_timeout: float = v.DEFAULT_HEARTBEAT_TIMEOUT,
    close_timeout: float = 2.0,
    stats: ConnectionStats | None = None,
) -> AsyncGenerator[SignalClient]:
    """Open one WebSocket connection for ``session`` and yield it once the hello arrived.

    Server events other than acks, errors, pongs and the hello are passed to ``on_frame``
    (synchronously, from the receive loop: it must not block). Leaving the block closes the
    socket with 1000 within ``close_timeout``, whatever state it is in.

    Raises:
        UTDStreamError: NETWORK / TIMEOUT when the engine cannot be reached in
            ``connect_timeout``; the classified refusal (e.g. UNAUTHORIZED for HTTP 401 or
            close 4001, BANNED / FORBIDDEN for 4003) when the engine refuses the socket.
        ValueError: the session's ``ws_url`` is unusable or downgrades TLS; a bad argument
            (a timeout that is not a finite number > 0, a non-bool ``allow_insecure``),
            naming it.
    """
    check_instance(session, "session", Session, "a Session")
    check_bool(allow_insecure, "allow_insecure")
    check_instance(ssl_context, "ssl_context", ssl.SSLContext, "an ssl.SSLContext")
    for label, seconds in (
        ("connect_timeout", connect_timeout),
        ("request_timeout", request_timeout),
        ("heartbeat_timeout", heartbeat_timeout),
        ("close_timeout", close_timeout),
    ):
        check_seconds(seconds, label)
    url = ws_url_with_token(session.ws_url, session.user_token, allow_insecure=allow_insecure)
    counters = stats if stats is not None else ConnectionStats()
    stream: ByteStream | None = None
    # Shielded: outer cancellation must not stop the reader before our bounded close
    # handshake has read the engine's reply; cancelled below once that is done.
    reader_scope = anyio.CancelScope(shield=True)
    mine: Exception | None = None
    try:
        async with create_task_group() as tasks:
            try:
                connected: tuple[WebSocket, Hello, list[str | bytes]] | None = None
                with anyio.move_on_after(connect_timeout):
                    stream, host_header, resource = await _open_stream(url, ssl_context)
                    try:
                        ws = await WebSocket.connect(
                            stream,
                            host_header,
                            resource,
                            max_message=_MAX_MESSAGE,
                            receive_buffer=_RECEIVE_BUFFER,
                            control_timeout=heartbeat_timeout,
                        )
                        connected = (ws, *await _wait_hello(ws, counters))
                    except UTDStreamError:
                        # Already classified; a NETWORK or TIMEOUT one is also an OSError,
                        # so it must not reach the translation below.
                        raise
                    except (HandshakeRejected, OSError, StreamBroken) as exc:
                        # Only the handshake's own failures are translated: an OSError
                        # raised later in the caller's block is the caller's.
                        raise _translate(exc) from None
                if connected is None:
                    raise UTDStreamError(
                        ErrorCode.TIMEOUT, f"no connection within {connect_timeout:g} s"
                    )
                ws, hello, after_hello = connected
                client = SignalClient(
                    ws,
                    hello,
                    on_frame=on_frame or (lambda _frame: None),
                    request_timeout=request_timeout,
                    heartbeat_timeout=heartbeat_timeout,
                    stats=counters,
                    tasks=tasks,
                )
                log.debug("connected to %s as socket %s", redact_url(url), hello.socket_id)
                tasks.start_soon(client._receive_loop, after_hello, reader_scope)  # pyright: ignore[reportPrivateUsage]
                try:
                    yield client
                except Exception as exc:
                    # The caller's own exception stays out of the task group: never wrapped
                    # in a group, re-raised unchanged once the connection is closed.
                    mine = exc
                finally:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(close_timeout):
                        await client.aclose()
            finally:
                # Synchronous first, so nothing below can leave the shielded reader running.
                reader_scope.cancel()
                tasks.cancel_scope.cancel()
                # Shielded: in the now-cancelled task group a checkpoint would raise Cancelled,
                # which the task group swallows along with the error being raised.
                with anyio.CancelScope(shield=True):
                    await _force_close(stream)
    except BaseExceptionGroup as group:
        if mine is None:
            reraise(collapse(group))
        log.debug("connection failed while the caller's exception was raised: %r", group)
    if mine is not None:
        raise mine


async def _force_close(stream: ByteStream | None) -> None:
    if stream is not None:
        await stream.aclose()


def _translate(exc: HandshakeRejected | OSError | StreamBroken) -> UTDStreamError:
    """A failure of the WebSocket handshake as the `UTDStreamError` it means."""
    if isinstance(exc, HandshakeRejected):
        return _rejected(exc.status, exc.body)
    return UTDStreamError(ErrorCode.NETWORK, f"WebSocket handshake failed: {exc!r}")


def collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """One exception out of a task group's exception group: the first that is not a Cancelled.

    Nothing is translated here: the library's I/O failures were turned into
    `UTDStreamError` where they happened, and anything else comes out as it was raised.
    """
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            inners = cast("tuple[BaseException, ...]", exc.exceptions)  # pyright: ignore[reportUnknownMemberType]
            for inner in inners:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    cancelled = anyio.get_cancelled_exc_class()
    for leaf in leaves:
        if not isinstance(leaf, cancelled):
            return leaf
    return leaves[0] if leaves else group


def reraise(exc: BaseException) -> NoReturn:
    """Raise ``exc`` out of an ``except`` block without chaining the handled group to it.

    A library error is raised as is; anything else keeps the cause and context it had, so
    the caller's own exception (e.g. from a ``session_provider``) comes out unchanged.
    """
    cause, context, suppress = exc.__cause__, exc.__context__, exc.__suppress_context__
    try:
        raise exc
    finally:
        exc.__cause__, exc.__context__, exc.__suppress_context__ = cause, context, suppress
