"""A scriptable stand-in for the engine's WebSocket, for what the real engine refuses to send.

The reference engine never puts a frame over 1 MiB (or a malformed one) on the wire, so the
client's inbound guards are exercised against this tiny trio-websocket server instead: it says
hello, answers ``ping`` with ``pong``, and sends whatever raw message the test queues.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio_websocket

CANARY_USER = "canary"


def canary(n: int) -> str:
    """A well-formed ``presence.update`` whose ``user_id`` carries ``n``."""
    data = {"user_id": f"{CANARY_USER}{n}", "online": True, "last_seen_at": None}
    return json.dumps({"event": "presence.update", "data": data})


class FakeEngineWS:
    """The server side: a queue of raw outbound messages and a count of connections."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self.received: list[Any] = []
        self._send, self._queue = trio.open_memory_channel[str | bytes](1000)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def session(self) -> dict[str, Any]:
        """A mint body pointing the client at this server."""
        return {"user_token": "tok_fake", "ws_url": self.ws_url, "signaling_enabled": True}

    async def send_raw(self, message: str | bytes) -> None:
        """Queue one raw message for the current connection."""
        await self._send.send(message)

    async def handler(self, request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        self.connections += 1
        hello = {
            "socket_id": f"fake{self.connections}",
            "user_id": "alice",
            "heartbeat_interval": 25,
            "server_time": "2026-01-01T00:00:00.000Z",
        }
        with contextlib.suppress(trio_websocket.ConnectionClosed):
            await ws.send_message(json.dumps({"event": "connection.established", "data": hello}))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, ws)
            await self._answer(ws)
            nursery.cancel_scope.cancel()

    async def _answer(self, ws: trio_websocket.WebSocketConnection) -> None:
        with contextlib.suppress(trio_websocket.ConnectionClosed):
            while True:
                frame = json.loads(await ws.get_message())
                self.received.append(frame)
                if frame.get("event") == "ping":
                    await ws.send_message(json.dumps({"event": "pong", "ref": frame["ref"]}))

    async def _pump(self, ws: trio_websocket.WebSocketConnection) -> None:
        with contextlib.suppress(trio_websocket.ConnectionClosed):
            async for message in self._queue:
                await ws.send_message(message)


@asynccontextmanager
async def fake_engine_ws() -> AsyncIterator[FakeEngineWS]:
    fake = FakeEngineWS()
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            trio_websocket.serve_websocket,
            fake.handler,
            "127.0.0.1",
            0,
            None,
        )
        fake.port = server.port
        yield fake
        nursery.cancel_scope.cancel()
