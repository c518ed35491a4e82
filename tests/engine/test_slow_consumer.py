"""A client that stops reading gets a bounded outbox: over the bound, the engine closes it (4100).

The slow client is a raw wsproto client on a socket with a small receive buffer, so the
kernel holds little for it and the engine's outbox fills up soon; another user floods it with
messages (pipelined, acks read concurrently) until the engine gives up on the slow socket.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketConnection
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    RejectConnection,
    Request,
    TextMessage,
)

from utd_trio.testing import Engine, open_engine
from utd_trio.testing._session import OUTBOX_OVERFLOW_CODE, OUTBOX_OVERFLOW_REASON, Session

from ._helpers import TIMEOUT, connect, http_client, mint, recv, send

TEXT = "x" * 4000
"""The longest legal text: about 4.2 KB per ``message.new`` frame."""


class RawClient:
    """A wsproto client whose reading is entirely up to the test."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.texts = 0

    @classmethod
    async def open(cls, engine: Engine, token: str, rcvbuf: int = 4096) -> RawClient:
        """Connect with a small receive buffer, upgrade, and read the hello."""
        sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        host, port = engine.base_url.removeprefix("http://").split(":")
        await sock.connect((host, int(port)))
        client = cls(trio.SocketStream(sock))
        await client.stream.send_all(
            client.ws.send(Request(host=f"{host}:{port}", target=f"/ws?token={token}"))
        )
        event = await client.next_event()
        assert isinstance(event, AcceptConnection), event
        hello = await client.next_event()
        assert isinstance(hello, TextMessage)
        assert "connection.established" in hello.data
        return client

    async def next_event(self) -> Event:
        """The next handshake, close or complete text message event."""
        while True:
            for event in self.ws.events():
                if isinstance(event, TextMessage) and not event.message_finished:
                    continue  # counted once, when the message completes
                if isinstance(event, (AcceptConnection, RejectConnection, CloseConnection)):
                    return event
                if isinstance(event, TextMessage):
                    self.texts += 1
                    return event
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(data or None)

    async def read_until_close(self) -> CloseConnection:
        """Read (and count) frames until the engine's close frame."""
        while True:
            event = await self.next_event()
            if isinstance(event, CloseConnection):
                await self.stream.send_all(self.ws.send(event.response()))
                await self.stream.aclose()
                return event


async def _flood(sender: WebSocketConnection, to: str, until: Session) -> int:
    """Send 4000-char messages to ``to`` until ``until`` is closed; return how many were acked."""
    acked = 0
    sent = 0

    async def read_acks() -> None:
        nonlocal acked
        while acked < sent or until.is_open:
            frame = await recv(sender)
            if frame["event"] == "ack":
                acked += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_acks)
        while until.is_open:
            sent += 1
            await send(
                sender,
                {
                    "event": "message.send",
                    "ref": str(sent),
                    "data": {"client_id": f"c{sent}", "to": to, "text": TEXT},
                },
            )
        # Unblock the ack reader: one last request with a reply.
        await send(sender, {"event": "ping", "ref": "last"})
    return acked


@pytest.mark.parametrize("limits", [{"outbox_max_frames": 50}, {"outbox_max_bytes": 64 * 1024}])
async def test_a_client_that_stops_reading_is_closed_with_4100(limits: dict[str, Any]) -> None:
    with trio.fail_after(TIMEOUT * 3):
        async with open_engine(**limits) as engine:
            slow = await RawClient.open(engine, await mint(engine, "alice"))
            (session,) = engine.sockets("alice")
            async with connect(engine, "bob") as (bob, _), connect(engine, "carol") as (carol, _):
                acked = await _flood(bob, "alice", session)
                assert session.outbox_overflowed
                assert session.outbox_size == (0, 0)  # the queued frames are dropped at once
                assert engine.socket_count("alice") == 0
                # The slow client reads again: what the kernel held, then the close frame.
                close = await slow.read_until_close()
                await session.wait_finished()
                # The other users are still served.
                await send(
                    bob,
                    {
                        "event": "message.send",
                        "ref": "c",
                        "data": {"client_id": "hi", "to": "carol", "text": "hi"},
                    },
                )
                assert (await recv(carol))["data"]["text"] == "hi"
                async with http_client(engine) as client:
                    history = await client.get(
                        "/api/v1/chat/conversations/dm:alice:bob/messages?limit=1",
                        headers={"Authorization": f"Bearer {await mint(engine, 'alice')}"},
                    )
    print(f"acked {acked}, slow client read {slow.texts} frames before the close")
    assert close.code == OUTBOX_OVERFLOW_CODE
    assert close.reason == OUTBOX_OVERFLOW_REASON
    assert slow.texts < acked  # it lost frames; it recovers them from history on reconnect
    assert history.status_code == 200
    assert history.json()["data"][0]["seq"] == acked


async def test_a_client_that_never_reads_again_is_reset_and_released() -> None:
    with trio.fail_after(TIMEOUT * 3):
        async with open_engine(outbox_max_frames=50) as engine:
            slow = await RawClient.open(engine, await mint(engine, "alice"))
            (session,) = engine.sockets("alice")
            async with connect(engine, "bob") as (bob, _):
                await _flood(bob, "alice", session)
                # The writer is stuck on the full socket; after the close deadline the engine
                # resets the connection and the socket's task ends.
                await session.wait_finished()
                assert session.outbox_size == (0, 0)
                await send(bob, {"event": "ping", "ref": "p"})
                frame = await recv(bob)
                while frame["event"] != "pong":
                    frame = await recv(bob)
            with pytest.raises(trio.BrokenResourceError):
                await slow.read_until_close()  # held data, then a reset instead of a close frame
            print("never-reading client got", slow.texts, "frames before the reset")
