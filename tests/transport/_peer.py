"""A scriptable WebSocket server peer on loopback, one connection, driven by wsproto.

The test writes the server side step by step (accept, send frames, split them across writes,
reply with raw bytes, read what the client sent), so the transport's handling of every case
the real engine never produces (fragments, pings, protocol errors, refusals) is exercised over
a real socket.

Loop-neutral: the peer is an anyio listener, and the SDK side opens its stream with the
library's own `open_stream` (Trio's socket stream on Trio, anyio's on asyncio).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    RejectConnection,
    RejectData,
    Request,
)

from utd_trio._backend._streams import open_stream
from utd_trio._transport._websocket import WebSocket

MAX_MESSAGE = 64 * 1024


class Peer:
    """The server end of one accepted connection."""

    def __init__(self, stream: anyio.abc.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None

    async def read_request(self) -> Request:
        """Read until the client's upgrade request has arrived."""
        while self.request is None:
            self.ws.receive_data(await self.receive_raw())
            for event in self.ws.events():
                if isinstance(event, Request):
                    self.request = event
        return self.request

    async def accept(self, *then: Event) -> None:
        """Accept the upgrade; the ``then`` frames go out in the same write as the 101."""
        await self.read_request()
        data = self.ws.send(AcceptConnection())
        await self.send_raw(data + b"".join(self.ws.send(event) for event in then))

    async def reject(self, status: int, body: bytes) -> None:
        """Refuse the upgrade with an HTTP status and a body."""
        await self.read_request()
        headers = [(b"content-length", str(len(body)).encode())]
        out = self.ws.send(RejectConnection(status_code=status, headers=headers, has_body=True))
        out += self.ws.send(RejectData(data=body, body_finished=True))
        await self.send_raw(out)

    async def send(self, *events: Event) -> None:
        """Encode ``events`` and write them in one write."""
        await self.send_raw(b"".join(self.ws.send(event) for event in events))

    async def answer_close(self) -> CloseConnection:
        """Read until the client's close frame, answer it, and return it."""
        event = await self.next_event()
        while not isinstance(event, CloseConnection):
            event = await self.next_event()
        await self.send(event.response())
        return event

    async def next_event(self) -> Event:
        """The next event the client sent (reads as needed)."""
        while True:
            for event in self.ws.events():
                return event
            data = await self.receive_raw()
            self.ws.receive_data(data or None)

    async def receive_raw(self) -> bytes:
        """Up to 64 KiB the client sent; ``b""`` once it closed its side."""
        try:
            return await self.stream.receive(65536)
        except anyio.EndOfStream:
            return b""

    async def send_raw(self, data: bytes) -> None:
        """Write ``data`` as it is (no WebSocket framing)."""
        await self.stream.send(data)

    def hold_reads(self) -> None:
        """Take no more bytes from the socket, so the client's sends back up in the kernel.

        Trio reads only when asked. anyio's asyncio stream reads ahead into memory until its
        first waiting `receive` pauses the transport, and the handshake's one receive may
        not have waited (the request was there already): pause it here.
        """
        transport = getattr(self.stream, "_transport", None)
        if transport is not None:
            transport.pause_reading()

    async def aclose(self) -> None:
        """Close the TCP connection (no closing handshake)."""
        await self.stream.aclose()

    @property
    def local_port(self) -> int:
        """The port the peer listens on (the client's ``Host``)."""
        port: int = self.stream.extra(anyio.abc.SocketAttribute.local_port)
        return port


@asynccontextmanager
async def one_peer() -> AsyncIterator[tuple[int, MemoryObjectReceiveStream[Peer]]]:
    """Listen on 127.0.0.1:0; yield the port and a stream of accepted peers."""
    send, receive = anyio.create_memory_object_stream[Peer](4)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port: int = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handler(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await send.send(Peer(stream))
            await anyio.sleep_forever()

    async with send, receive, listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handler)
        yield port, receive
        tg.cancel_scope.cancel()


async def connect(port: int, *, max_message: int = MAX_MESSAGE) -> WebSocket:
    """Open the SDK transport to the peer on ``port`` (the peer must accept concurrently)."""
    stream = await open_stream("127.0.0.1", port, None)
    return await WebSocket.connect(
        stream,
        f"127.0.0.1:{port}",
        "/ws?token=tok_peer",
        max_message=max_message,
        receive_buffer=65536,
        control_timeout=1.0,
    )


@asynccontextmanager
async def connected() -> AsyncIterator[tuple[WebSocket, Peer]]:
    """A transport connected to an accepting peer."""
    async with one_peer() as (port, peers):
        accepted: list[Peer] = []

        async def accept_one() -> None:
            peer = await peers.receive()
            await peer.accept()
            accepted.append(peer)

        async with anyio.create_task_group() as tg:
            tg.start_soon(accept_one)
            ws = await connect(port)
        try:
            yield ws, accepted[0]
        finally:
            await ws.abort()
