"""`open_stream`: the TCP (+TLS) byte stream under a WebSocket, native to the running loop.

Both kinds of stream have the same small surface (`ByteStream`): ``receive_some`` returns
``b""`` at the end of the stream, ``send_all`` writes everything, ``aclose`` closes at once
(no TLS goodbye: the WebSocket has its own closing handshake), and any failure of the
connection is a `StreamBroken` whose ``__cause__`` is what the loop raised.

On Trio the stream is ``trio.SocketStream`` (``trio.SSLStream`` over it for TLS), exactly what
the library used before it ran on asyncio too; on asyncio it is anyio's socket and TLS
streams. Opening fails with the `OSError` of the dial (refused, unreachable, bad certificate)
or a `StreamBroken` whose cause says why the TLS handshake broke.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Protocol

import anyio
import anyio.abc
import trio

from ._select import current_backend

__all__ = ["ByteStream", "StreamBroken", "open_stream"]


class StreamBroken(Exception):
    """The connection under a stream failed or was closed (``__cause__`` says how)."""


class ByteStream(Protocol):
    """What the WebSocket layer needs of a connection."""

    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        """Up to ``max_bytes`` bytes; ``b""`` once the peer has closed its side."""
        ...

    async def send_all(self, data: bytes) -> None:
        """Write all of ``data``."""
        ...

    async def aclose(self) -> None:
        """Close now, without waiting on the peer; never raises."""
        ...


class _TrioStream:
    __slots__ = ("_stream",)

    def __init__(self, stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]) -> None:
        self._stream = stream

    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        try:
            return await self._stream.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise StreamBroken(str(exc)) from exc

    async def send_all(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise StreamBroken(str(exc)) from exc

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self._stream)


class _AnyioStream:
    __slots__ = ("_stream",)

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        try:
            return await self._stream.receive(max_bytes)
        except anyio.EndOfStream:
            return b""
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise StreamBroken(str(exc)) from exc

    async def send_all(self, data: bytes) -> None:
        try:
            await self._stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise StreamBroken(str(exc)) from exc

    async def aclose(self) -> None:
        # A connection already gone has nothing left to release.
        with contextlib.suppress(anyio.BrokenResourceError, OSError):
            await anyio.aclose_forcefully(self._stream)


async def open_stream(host: str, port: int, ssl_context: ssl.SSLContext | None) -> ByteStream:
    """Connect to ``host:port``; with ``ssl_context``, also run the TLS handshake.

    Raises:
        OSError: the dial failed (refused, unreachable, certificate rejected).
        StreamBroken: the TLS handshake broke (its ``__cause__`` says why).
    """
    if current_backend() == "trio":
        return await _open_trio(host, port, ssl_context)
    return await _open_anyio(host, port, ssl_context)


async def _open_trio(host: str, port: int, ssl_context: ssl.SSLContext | None) -> ByteStream:
    if ssl_context is None:
        return _TrioStream(await trio.open_tcp_stream(host, port))
    stream = await trio.open_ssl_over_tcp_stream(
        host, port, ssl_context=ssl_context, https_compatible=True
    )
    # Handshake here, not lazily on the first write: a bad certificate is then reported
    # as such, before any WebSocket bytes are involved.
    try:
        await stream.do_handshake()
    except trio.BrokenResourceError as exc:
        await trio.aclose_forcefully(stream)
        raise StreamBroken(str(exc.__cause__ or exc)) from exc
    return _TrioStream(stream)


async def _open_anyio(host: str, port: int, ssl_context: ssl.SSLContext | None) -> ByteStream:
    if ssl_context is None:
        return _AnyioStream(await anyio.connect_tcp(host, port))
    try:
        stream = await anyio.connect_tcp(
            host,
            port,
            tls=True,
            ssl_context=ssl_context,
            tls_hostname=host,
            # Like Trio's https_compatible: a peer may end the stream without close_notify.
            tls_standard_compatible=False,
        )
    except anyio.BrokenResourceError as exc:
        raise StreamBroken(str(exc.__cause__ or exc)) from exc
    return _AnyioStream(stream)
