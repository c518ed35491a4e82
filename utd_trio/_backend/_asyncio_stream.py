"""`AsyncioStream`: a byte stream straight on an asyncio transport and protocol.

anyio's asyncio socket stream pauses and resumes reading around every ``receive`` (two
``epoll_ctl`` calls per read) and adds a checkpoint to every send; on a request round trip
that measured 1.5× a bare ``websockets`` client. This one keeps reading on, buffers what
arrives (pausing the transport above a high-water mark, as asyncio's own streams do) and
writes without waiting unless the transport asks for back-pressure — the shape of
``websockets`` and of asyncio's ``StreamReader``.

Semantics are those of `ByteStream`: ``b""`` at end of stream, `StreamBroken` (cause: the
transport's error) when the connection fails or was closed, ``aclose`` aborts at once.

It also takes arrivals in the protocol callback (`AsyncioStream.offer_arrivals`), the way
``websockets`` parses in ``data_received``: bytes that arrive while the reader waits, with
nothing buffered before them, are offered to a sink first, so a reply or a pong that the
sink takes whole wakes no reader task (one task hop fewer on a round trip, none for an idle
connection's pong). What the sink leaves is buffered for the reader, as any arrival is.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Final, cast

from ._streams_base import StreamBroken

__all__ = ["AsyncioStream", "open_asyncio_stream"]

_HIGH_WATER: Final = 1024 * 1024  # buffered and unread bytes above which reading pauses


class _Protocol(asyncio.Protocol):
    # Slots (asyncio's protocol classes have none of their own): no dict per connection.
    __slots__ = (
        "_drain",
        "_reader",
        "buffer",
        "eof",
        "error",
        "paused",
        "sink",
        "transport",
        "writing_paused",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.paused = False
        self._reader: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self.writing_paused = False
        self.sink: Callable[[bytes], bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        sink = self.sink
        reader = self._reader
        # Only while the reader waits with nothing buffered: everything before these bytes
        # has then been read and handled, so taking them here keeps the stream's order.
        if sink is not None and reader is not None and not reader.done() and not self.buffer:
            try:
                data = sink(data)
            except Exception as exc:  # the reader's own failure: it raises it, as it would have
                reader.set_exception(exc)
                return
            if not data:
                return
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.error is None:
            self.error = exc
        self.eof = True
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_writer()

    def _wake_reader(self) -> None:
        waiter = self._reader
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter = self._drain
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_readable(self) -> None:
        waiter = self._reader = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._reader = None

    async def drain(self) -> None:
        while self.writing_paused and self.error is None and not self.eof:
            waiter = self._drain = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._drain = None


class AsyncioStream:
    """One TCP (or TLS) connection on the running asyncio loop."""

    __slots__ = ("_closed", "_protocol", "_transport")

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._closed = False

    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        """Up to ``max_bytes`` buffered bytes, waiting for some; ``b""`` at end of stream."""
        self._check_open()
        protocol = self._protocol
        if protocol.buffer:
            # Data is already here: still yield once, so a flooding peer cannot starve the
            # loop's other tasks (a Trio stream is a checkpoint too).
            await asyncio.sleep(0)
        while not protocol.buffer:
            self._check_open()
            if protocol.eof:
                if protocol.error is not None:
                    raise StreamBroken(str(protocol.error)) from protocol.error
                return b""
            await protocol.wait_readable()
        buffer = protocol.buffer
        if len(buffer) <= max_bytes:
            data, protocol.buffer = bytes(buffer), bytearray()
        else:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
        if protocol.paused and len(protocol.buffer) <= _HIGH_WATER // 2:
            protocol.paused = False
            self._transport.resume_reading()
        return data

    async def send_all(self, data: bytes) -> None:
        """Write ``data``; wait only while the transport applies back-pressure."""
        self._check_open()
        protocol = self._protocol
        if protocol.error is not None or self._transport.is_closing():
            raise StreamBroken("connection lost") from protocol.error
        self._transport.write(data)
        await protocol.drain()
        # The drain ends when the transport took the bytes, or when the connection ended
        # first (an error, the peer gone, our own aclose): then they were not all sent.
        if self._closed or protocol.error is not None or protocol.writing_paused:
            raise StreamBroken("connection lost while sending") from protocol.error

    def offer_arrivals(self, sink: Callable[[bytes], bytes] | None) -> bool:
        """Offer bytes that arrive while `receive_some` waits on an empty buffer to ``sink``.

        ``sink(data)`` runs in the transport's callback and returns the tail of ``data`` it
        did not take (``b""``: all of it; ``data``: none): that tail is buffered for the
        waiting reader, as if no sink were set. If it raises, the waiting `receive_some`
        raises that exception. None removes the sink. Returns True: this stream can.
        """
        self._protocol.sink = sink
        return True

    def can_write_now(self) -> bool:
        """True while open, unbroken and not asking for back-pressure."""
        protocol = self._protocol
        return not (
            self._closed
            or protocol.error is not None
            or protocol.writing_paused
            or self._transport.is_closing()
        )

    def write_now(self, data: bytes) -> None:
        """Hand ``data`` to the transport (it buffers what the socket does not take)."""
        self._transport.write(data)

    @property
    def write_pending(self) -> bool:
        """Always False: the transport itself sends what it buffered."""
        return False

    async def aclose(self) -> None:
        """Abort the connection (no TLS close_notify, no FIN handshake to wait for)."""
        self._closed = True
        self._transport.abort()

    def _check_open(self) -> None:
        if self._closed:
            raise StreamBroken("stream closed")


async def open_asyncio_stream(
    host: str, port: int, ssl_context: ssl.SSLContext | None
) -> AsyncioStream:
    """Connect (and run the TLS handshake when ``ssl_context`` is given).

    Raises:
        OSError: the dial or the TLS handshake failed (e.g. the certificate does not verify).
    """
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_connection(
        _Protocol,
        host,
        port,
        ssl=ssl_context,
        server_hostname=host if ssl_context is not None else None,
    )
    return AsyncioStream(transport, protocol)
