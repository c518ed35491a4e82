"""A scriptable stand-in for the engine's WebSocket, for what the real engine refuses to send.

The reference engine never puts a frame over 1 MiB (or a malformed one) on the wire, so the
client's inbound guards are exercised against this tiny websockets server instead: it says
hello, answers ``ping`` with ``pong``, and sends whatever raw message the test queues. It
serves on the running loop (websockets' Trio or asyncio implementation), and `open_raw_ws`
is the matching bare client.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any, Protocol

import anyio
import sniffio
from websockets.exceptions import ConnectionClosed

CANARY_USER = "canary"


class RawWebSocket(Protocol):
    """What the tests use of a WebSocket (websockets' Trio and asyncio connections alike)."""

    async def send(self, message: str | bytes) -> None: ...

    async def recv(self) -> str | bytes: ...


def _on_trio() -> bool:
    return sniffio.current_async_library() == "trio"


def open_raw_ws(url: str) -> AbstractAsyncContextManager[Any]:
    """A bare WebSocket client on the running loop (no proxy, no compression, no pings).

    Raises `websockets.exceptions.InvalidStatus` when the upgrade is refused and
    `websockets.exceptions.ConnectionClosed` once the connection has closed.
    """
    if _on_trio():
        from websockets.trio.client import connect
    else:
        from websockets.asyncio.client import connect
    return connect(url, proxy=None, compression=None, ping_interval=None)


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
        self._send, self._queue = anyio.create_memory_object_stream[str | bytes](1000)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def session(self) -> dict[str, Any]:
        """A mint body pointing the client at this server."""
        return {"user_token": "tok_fake", "ws_url": self.ws_url, "signaling_enabled": True}

    async def send_raw(self, message: str | bytes) -> None:
        """Queue one raw message for the current connection."""
        await self._send.send(message)

    async def handler(self, ws: RawWebSocket) -> None:
        self.connections += 1
        hello = {
            "socket_id": f"fake{self.connections}",
            "user_id": "alice",
            "heartbeat_interval": 25,
            "server_time": "2026-01-01T00:00:00.000Z",
        }
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps({"event": "connection.established", "data": hello}))
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._pump, ws)
            await self._answer(ws)
            tg.cancel_scope.cancel()

    async def _answer(self, ws: RawWebSocket) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                frame = json.loads(await ws.recv())
                self.received.append(frame)
                if frame.get("event") == "ping":
                    await ws.send(json.dumps({"event": "pong", "ref": frame["ref"]}))

    async def _pump(self, ws: RawWebSocket) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self._queue:
                await ws.send(message)


# No compression and no protocol-level pings of its own: only what the test queues.
_SERVE_OPTIONS: dict[str, Any] = {"compression": None, "ping_interval": None}


@asynccontextmanager
async def fake_engine_ws() -> AsyncIterator[FakeEngineWS]:
    fake = FakeEngineWS()
    if _on_trio():
        from websockets.trio.server import serve as serve_trio

        async with anyio.create_task_group() as tg:
            serve = partial(serve_trio, fake.handler, 0, host="127.0.0.1", **_SERVE_OPTIONS)
            server = await tg.start(serve)
            fake.port = server.listeners[0].socket.getsockname()[1]
            yield fake
            tg.cancel_scope.cancel()
    else:
        from websockets.asyncio.server import serve as serve_asyncio

        async with serve_asyncio(fake.handler, "127.0.0.1", 0, **_SERVE_OPTIONS) as server:
            fake.port = server.sockets[0].getsockname()[1]
            yield fake
