"""Serving: our own loopback listener, hypercorn's trio ``TCPServer`` per accepted stream.

The engine owns every accepted TCP stream (recorded by peer address, the same ``(host, port)``
that hypercorn puts in ASGI ``scope["client"]``), so fault injection can drop a connection
abruptly: ``SO_LINGER`` 0 then close → the kernel sends RST, the client sees the connection
die without a WebSocket close frame, and hypercorn's reader task (blocked on that socket) is
woken by trio with ``ClosedResourceError`` and winds the connection down.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
from typing import TYPE_CHECKING, TypeAlias, cast

import trio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ASGIFramework, ConnectionState

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["ConnectionTable", "RecordingListener", "open_listener", "serve"]

log = logging.getLogger("utd_trio.testing")

Stream: TypeAlias = trio.SocketStream | trio.SSLStream[trio.SocketStream]
Peer: TypeAlias = tuple[str, int]


def socket_stream(stream: Stream) -> trio.SocketStream:
    """The TCP stream under a (possibly TLS) stream."""
    if isinstance(stream, trio.SSLStream):
        return stream.transport_stream
    return stream


def peer_of(stream: Stream) -> Peer | None:
    """The client address as hypercorn reports it in ``scope["client"]``."""
    sock = socket_stream(stream).socket
    try:
        address: tuple[object, ...] = tuple(sock.getpeername())
    except OSError:
        return None
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return (str(address[0]), int(cast(int, address[1])))


class ConnectionTable:
    """Accepted streams by peer address."""

    def __init__(self) -> None:
        self._streams: dict[Peer, Stream] = {}

    def add(self, stream: Stream) -> None:
        """Record a freshly accepted stream."""
        peer = peer_of(stream)
        if peer is not None:
            self._streams[peer] = stream

    def discard(self, stream: Stream) -> None:
        """Forget a stream whose connection ended."""
        for peer, known in list(self._streams.items()):
            if known is stream:
                del self._streams[peer]

    def __len__(self) -> int:
        return len(self._streams)

    def abort(self, peer: Peer | None) -> bool:
        """Reset the TCP connection of ``peer`` (RST, no close frame). ``False`` if unknown."""
        stream = self._streams.pop(peer, None) if peer is not None else None
        if stream is None:
            return False
        sock = socket_stream(stream).socket
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # trio wakes any task waiting on it with ClosedResourceError
        log.info("aborted TCP connection of %s", peer)
        return True


class RecordingListener(trio.abc.Listener[Stream]):
    """A listener that records every stream it accepts in a :class:`ConnectionTable`."""

    def __init__(self, inner: trio.abc.Listener[Stream], table: ConnectionTable) -> None:
        self._inner = inner
        self._table = table

    async def accept(self) -> Stream:
        """Accept the next connection and record it."""
        stream = await self._inner.accept()
        self._table.add(stream)
        return stream

    async def aclose(self) -> None:
        """Close the underlying listener."""
        await self._inner.aclose()


async def open_listener(
    host: str, port: int, ssl_context: ssl.SSLContext | None
) -> tuple[trio.abc.Listener[Stream], Peer]:
    """Bind ``host:port`` (numeric host; port 0 = any) and return the listener + bound address."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    first, rest = listeners[0], listeners[1:]
    for extra in rest:
        await extra.aclose()
    sockname = first.socket.getsockname()
    bound: Peer = (str(sockname[0]), int(sockname[1]))
    if ssl_context is None:
        return first, bound
    return trio.SSLListener(first, ssl_context, https_compatible=True), bound


def _config() -> Config:
    config = Config()
    config.accesslog = None  # access logs would carry `?token=` query strings
    config.errorlog = logging.getLogger("utd_trio.testing.hypercorn")
    config.graceful_timeout = 1.0
    return config


async def serve(
    app: ASGIApp,
    listener: trio.abc.Listener[Stream],
    table: ConnectionTable,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``listener`` until cancelled, one hypercorn ``TCPServer`` per stream."""
    config = _config()
    context = WorkerContext(None)
    wrapped = ASGIWrapper(cast("ASGIFramework", app))

    async def handle(stream: Stream) -> None:
        try:
            server = TCPServer(
                wrapped,
                config,
                context,
                ConnectionState({}),
                cast("trio.SSLStream[trio.SocketStream]", stream),
            )
            await server.run()
        finally:
            table.discard(stream)
            socket_stream(stream).socket.close()  # idempotent; covers a cancelled shutdown

    recording = RecordingListener(listener, table)
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, handle, [recording])
        task_status.started()
