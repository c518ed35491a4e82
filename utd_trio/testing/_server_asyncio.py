"""Serving under asyncio and uvloop: ``asyncio.start_server``, hypercorn's asyncio ``TCPServer``.

One hypercorn ``TCPServer`` serves each accepted connection. Resetting a connection sets
``SO_LINGER`` 0 on its socket and aborts the transport: the kernel sends RST, the transport
reports the connection lost, and hypercorn's reader winds the connection down. On stop the
listening socket closes first, then every connection task is cancelled; a connection still
open after hypercorn's graceful timeout (a TLS peer that never answers the shutdown) is
aborted, so nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import TYPE_CHECKING

import anyio
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext

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

__all__ = ["AsyncioListener", "open_asyncio_listener"]


class AsyncioListener:
    """A bound listening socket served by ``asyncio.start_server`` (TLS with an ``SSLContext``)."""

    def __init__(self, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> None:
        self._sock = sock
        self._ssl_context = ssl_context
        sockname = sock.getsockname()
        self._address: Peer = (str(sockname[0]), int(sockname[1]))

    @property
    def address(self) -> Peer:
        """The bound ``(host, port)``."""
        return self._address

    async def serve(
        self, app: ASGIApp, table: ConnectionTable, *, task_status: TaskStatus[None]
    ) -> None:
        """Serve ``app`` until cancelled, one hypercorn ``TCPServer`` per connection."""
        loop = asyncio.get_running_loop()
        config = hypercorn_config()
        context = WorkerContext(None)
        wrapped = hypercorn_app(app)
        connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        stopping = False

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            transport = writer.transport
            sock = writer.get_extra_info("socket")
            peer = peer_address(sock) if sock is not None else None

            def abort() -> None:
                if sock is not None:
                    reset_socket(sock)
                transport.abort()

            table.add(peer, abort)
            if task is not None:
                connections[task] = writer
            try:
                await TCPServer(wrapped, loop, config, context, {}, reader, writer).run()
            except asyncio.CancelledError:
                # Only `_stop` cancels these tasks. Ending normally matters on Python 3.11,
                # whose start_server callback calls task.exception() on a cancelled task and
                # logs the CancelledError that raises as an error.
                if not stopping:
                    raise
            finally:
                table.discard(peer, abort)
                if task is not None:
                    connections.pop(task, None)

        try:
            server = await asyncio.start_server(
                handle,
                sock=self._sock,
                ssl=self._ssl_context,
                ssl_handshake_timeout=config.ssl_handshake_timeout if self._ssl_context else None,
            )
        except BaseException:
            self._sock.close()
            raise
        try:
            task_status.started()
            await anyio.sleep_forever()
        finally:
            stopping = True
            server.close()
            with anyio.CancelScope(shield=True):
                await _stop(connections, config.graceful_timeout)
                await server.wait_closed()

    async def aclose(self) -> None:
        """Close the listening socket."""
        self._sock.close()


async def _stop(connections: dict[asyncio.Task[None], asyncio.StreamWriter], grace: float) -> None:
    """Cancel every connection task; abort the transports of those still open after ``grace``."""
    if not connections:
        return
    tasks = dict(connections)
    for task in tasks:
        task.cancel()
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        tasks[task].transport.abort()
    if pending:
        await asyncio.wait(pending, timeout=grace)
    for task in tasks:
        if task.done() and not task.cancelled():
            with contextlib.suppress(Exception):
                task.result()  # retrieved, so asyncio logs no "exception never retrieved"


async def open_asyncio_listener(
    host: str, port: int, ssl_context: ssl.SSLContext | None
) -> AsyncioListener:
    """Bind ``host:port`` (numeric host; port 0 = any) on the running asyncio loop."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    sock = socket.create_server(address, family=family)
    sock.setblocking(False)
    return AsyncioListener(sock, ssl_context)
