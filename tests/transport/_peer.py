"""A scriptable WebSocket server peer on loopback, one connection, driven by wsproto.

The test writes the server side step by step (accept, send frames, split them across writes,
reply with raw bytes, read what the client sent), so the transport's handling of every case
the real engine never produces (fragments, pings, protocol errors, refusals) is exercised over
a real socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    RejectConnection,
    RejectData,
    Request,
)

from utd_trio._transport._websocket import WebSocket

MAX_MESSAGE = 64 * 1024


class Peer:
    """The server end of one accepted connection."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None

    async def read_request(self) -> Request:
        """Read until the client's upgrade request has arrived."""
        while self.request is None:
            self.ws.receive_data(await self.stream.receive_some(65536))
            for event in self.ws.events():
                if isinstance(event, Request):
                    self.request = event
        return self.request

    async def accept(self, *then: Event) -> None:
        """Accept the upgrade; the ``then`` frames go out in the same write as the 101."""
        await self.read_request()
        data = self.ws.send(AcceptConnection())
        await self.stream.send_all(data + b"".join(self.ws.send(event) for event in then))

    async def reject(self, status: int, body: bytes) -> None:
        """Refuse the upgrade with an HTTP status and a body."""
        await self.read_request()
        headers = [(b"content-length", str(len(body)).encode())]
        out = self.ws.send(RejectConnection(status_code=status, headers=headers, has_body=True))
        out += self.ws.send(RejectData(data=body, body_finished=True))
        await self.stream.send_all(out)

    async def send(self, *events: Event) -> None:
        """Encode ``events`` and write them in one write."""
        await self.stream.send_all(b"".join(self.ws.send(event) for event in events))

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
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(data or None)


@asynccontextmanager
async def one_peer() -> AsyncIterator[tuple[int, trio.MemoryReceiveChannel[Peer]]]:
    """Listen on 127.0.0.1:0; yield the port and a channel of accepted peers."""
    send, receive = trio.open_memory_channel[Peer](4)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    async def handler(stream: trio.SocketStream) -> None:
        await send.send(Peer(stream))
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, handler, listeners)
        yield port, receive
        nursery.cancel_scope.cancel()


async def connect(port: int, *, max_message: int = MAX_MESSAGE) -> WebSocket:
    """Open the SDK transport to the peer on ``port`` (the peer must accept concurrently)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
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

        async with trio.open_nursery() as nursery:
            nursery.start_soon(accept_one)
            ws = await connect(port)
        try:
            yield ws, accepted[0]
        finally:
            await ws.abort()
