"""Serving seam: one loopback listener, hypercorn's ``TCPServer`` per accepted connection.

:func:`open_listener` picks the implementation of the running event loop at run time
(``sniffio``): ``_server_trio`` (our trio listener + hypercorn's trio ``TCPServer``) under
``trio.run``, ``_server_asyncio`` (``asyncio.start_server`` + hypercorn's asyncio
``TCPServer``) under ``asyncio.run`` and uvloop. Both record every accepted connection in a
:class:`ConnectionTable` by peer address (the same ``(host, port)`` that hypercorn puts in
ASGI ``scope["client"]``), so fault injection can drop a connection abruptly: ``SO_LINGER`` 0
then close → the kernel sends RST, the client sees the connection die without a WebSocket
close frame, and hypercorn's reader (blocked on that socket) is woken and winds the
connection down.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias, cast

import sniffio
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.config import Config
from hypercorn.typing import ASGIFramework

if TYPE_CHECKING:
    from anyio.abc import TaskStatus
    from starlette.types import ASGIApp

__all__ = [
    "ConnectionTable",
    "Listener",
    "Peer",
    "hypercorn_app",
    "hypercorn_config",
    "open_listener",
    "peer_address",
    "reset_socket",
]

log = logging.getLogger("utd_trio.testing")

Peer: TypeAlias = tuple[str, int]
Abort: TypeAlias = Callable[[], None]


class _Socket(Protocol):
    """What both ``socket.socket`` and asyncio's/uvloop's transport sockets offer."""

    @property
    @abstractmethod
    def family(self) -> int: ...

    @abstractmethod
    def getpeername(self) -> object: ...

    @abstractmethod
    def setsockopt(self, level: int, optname: int, value: bytes, /) -> None: ...


def peer_address(sock: _Socket) -> Peer | None:
    """The client address of ``sock`` as hypercorn reports it in ``scope["client"]``."""
    try:
        address = tuple(cast("tuple[object, ...]", sock.getpeername()))
    except OSError:
        return None
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return (str(address[0]), int(cast(int, address[1])))


def reset_socket(sock: _Socket) -> None:
    """Make the next close of ``sock`` send RST (``SO_LINGER`` on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class ConnectionTable:
    """Accepted connections by peer address, each with the callable that resets it."""

    def __init__(self) -> None:
        self._aborts: dict[Peer, Abort] = {}

    def add(self, peer: Peer | None, abort: Abort) -> None:
        """Record a freshly accepted connection (``peer=None``: not a TCP peer, ignored)."""
        if peer is not None:
            self._aborts[peer] = abort

    def discard(self, peer: Peer | None, abort: Abort) -> None:
        """Forget a connection that ended (only if ``peer`` still maps to this ``abort``)."""
        if peer is not None and self._aborts.get(peer) is abort:
            del self._aborts[peer]

    def __len__(self) -> int:
        return len(self._aborts)

    def abort(self, peer: Peer | None) -> bool:
        """Reset the TCP connection of ``peer`` (RST, no close frame). ``False`` if unknown."""
        abort = self._aborts.pop(peer, None) if peer is not None else None
        if abort is None:
            return False
        abort()
        log.info("aborted TCP connection of %s", peer)
        return True


class Listener(Protocol):
    """A bound, not yet serving, listening socket of the running event loop."""

    @property
    @abstractmethod
    def address(self) -> Peer:
        """The bound ``(host, port)``."""

    @abstractmethod
    async def serve(
        self, app: ASGIApp, table: ConnectionTable, *, task_status: TaskStatus[None]
    ) -> None:
        """Serve ``app`` until cancelled; ``task_status.started()`` once accepting."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the listening socket without serving (``serve`` closes it itself)."""


def hypercorn_config() -> Config:
    """The hypercorn configuration shared by both event loops."""
    config = Config()
    config.accesslog = None  # access logs would carry `?token=` query strings
    config.errorlog = logging.getLogger("utd_trio.testing.hypercorn")
    config.graceful_timeout = 1.0
    return config


def hypercorn_app(app: ASGIApp) -> ASGIWrapper:
    """``app`` wrapped for hypercorn's ``TCPServer``."""
    return ASGIWrapper(cast("ASGIFramework", app))


async def open_listener(host: str, port: int, ssl_context: ssl.SSLContext | None) -> Listener:
    """Bind ``host:port`` (numeric host; port 0 = any) for the running event loop."""
    if sniffio.current_async_library() == "trio":
        from ._server_trio import open_trio_listener

        return await open_trio_listener(host, port, ssl_context)
    from ._server_asyncio import open_asyncio_listener

    return await open_asyncio_listener(host, port, ssl_context)
