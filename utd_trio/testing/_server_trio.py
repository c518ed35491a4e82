"""Serving under ``trio.run``: a trio TCP listener, hypercorn's trio ``TCPServer`` per stream.

Resetting a connection closes its socket with ``SO_LINGER`` 0; trio wakes the hypercorn task
blocked on it with ``ClosedResourceError`` and the connection winds down.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, TypeAlias, cast

import trio
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState

from ._server import (
    ConnectionTable,
    Peer,
    hypercorn_app,
    hypercorn_config,
    peer_address,
    reset_socket,
)

if TYPE_CHECKING:
    from anyio.abc import TaskStatus
    from starlette.types import ASGIApp

__all__ = ["TrioListener", "open_trio_listener"]

Stream: TypeAlias = trio.SocketStream | trio.SSLStream[trio.SocketStream]


def _socket_of(stream: Stream) -> trio.socket.SocketType:
    if isinstance(stream, trio.SSLStream):
        return stream.transport_stream.socket
    return stream.socket


class TrioListener:
    """A bound trio listener (TLS-wrapped when given a server ``SSLContext``)."""

    def __init__(self, listener: trio.abc.Listener[Stream], address: Peer) -> None:
        self._listener = listener
        self._address = address

    @property
    def address(self) -> Peer:
        """The bound ``(host, port)``."""
        return self._address

    async def serve(
        self, app: ASGIApp, table: ConnectionTable, *, task_status: TaskStatus[None]
    ) -> None:
        """Serve ``app`` until cancelled, one hypercorn ``TCPServer`` per accepted stream."""
        config = hypercorn_config()
        context = WorkerContext(None)
        wrapped = hypercorn_app(app)

        async def handle(stream: Stream) -> None:
            sock = _socket_of(stream)
            peer = peer_address(sock)

            def abort() -> None:
                reset_socket(sock)
                sock.close()  # trio wakes any task waiting on it with ClosedResourceError

            table.add(peer, abort)
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
                table.discard(peer, abort)
                sock.close()  # idempotent; covers a cancelled shutdown

        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(trio.serve_listeners, handle, [self._listener])
                task_status.started()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the listening socket."""
        await trio.aclose_forcefully(self._listener)


async def open_trio_listener(
    host: str, port: int, ssl_context: ssl.SSLContext | None
) -> TrioListener:
    """Bind ``host:port`` (numeric host; port 0 = any) with trio."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    first, rest = listeners[0], listeners[1:]
    for extra in rest:
        await extra.aclose()
    sockname = first.socket.getsockname()
    bound: Peer = (str(sockname[0]), int(sockname[1]))
    if ssl_context is None:
        return TrioListener(first, bound)
    return TrioListener(trio.SSLListener(first, ssl_context, https_compatible=True), bound)
