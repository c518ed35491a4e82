"""Raw peers for the engine's channel tests (contract §11): trio-websocket and httpx only.

Grants are signed here with ``hmac`` directly (not with the engine's signer), so a test that
passes shows the engine agrees with an independent reading of the contract.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from trio_websocket import WebSocketConnection

from utd_trio.testing import Engine, ProjectConfig

from ._helpers import connect, http_client, open_ws, recv, secret_headers, send

Frame = dict[str, Any]


def sign(project: ProjectConfig, socket_id: str, channel: str, channel_data: str | None) -> str:
    """``"<key>:<hex hmac>"`` over ``socket_id:channel[:channel_data]``."""
    text = f"{socket_id}:{channel}" + ("" if channel_data is None else f":{channel_data}")
    digest = hmac.new(project.app_secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return f"{project.app_key}:{digest}"


class Peer:
    """One raw socket: requests with refs, other frames buffered in arrival order."""

    def __init__(self, engine: Engine, ws: WebSocketConnection, hello: Frame) -> None:
        self.engine = engine
        self.ws = ws
        self.socket_id: str = hello["socket_id"]
        self.user_id: str = hello["user_id"]
        self.project = engine.project(None)
        self._events: deque[Frame] = deque()
        self._refs = itertools.count(1)

    async def request(self, event: str, data: Any = None, *, omit_data: bool = False) -> Frame:
        """Send a request and return its ``ack`` or ``error`` frame (events are buffered)."""
        ref = f"r{next(self._refs)}"
        frame: Frame = {"event": event, "ref": ref}
        if not omit_data:
            frame["data"] = data
        await send(self.ws, frame)
        while True:
            reply = await recv(self.ws)
            if reply.get("ref") == ref:
                return reply
            self._events.append(reply)

    async def ok(self, event: str, data: Any = None) -> Frame:
        """The ack data of a request that must succeed."""
        reply = await self.request(event, data)
        assert reply["event"] == "ack", reply
        ack: Frame = reply["data"]
        return ack

    async def fail(self, event: str, data: Any = None) -> Frame:
        """The error data of a request that must fail."""
        reply = await self.request(event, data)
        assert reply["event"] == "error", reply
        error: Frame = reply["data"]
        return error

    async def next_event(self, event: str) -> Frame:
        """The next non-reply frame, which must be ``event``; its data."""
        frame = self._events.popleft() if self._events else await recv(self.ws)
        assert frame["event"] == event, frame
        data: Frame = frame["data"]
        return data

    async def quiet(self) -> None:
        """Nothing reached this socket before a ``pong`` to a fresh ping (ordered outbox)."""
        reply = await self.request("ping", omit_data=True)
        assert reply["event"] == "pong", reply
        assert not self._events, list(self._events)

    def grant(self, channel: str, channel_data: str | None = None) -> Frame:
        """A subscribe ``data`` with a correct grant for this socket."""
        data: Frame = {
            "channel": channel,
            "auth": sign(self.project, self.socket_id, channel, channel_data),
        }
        if channel_data is not None:
            data["channel_data"] = channel_data
        return data

    def presence(self, channel: str, user_info: Any = None, *, user_id: str | None = None) -> Frame:
        """A presence subscribe ``data`` for this socket's user (or ``user_id``)."""
        member: Frame = {"user_id": self.user_id if user_id is None else user_id}
        if user_info is not None:
            member["user_info"] = user_info
        return self.grant(channel, json.dumps(member))

    async def join(self, channel: str, user_info: Any = None) -> Frame:
        """Subscribe with the right grant for the channel's kind; the ack data."""
        if channel.startswith("presence-"):
            return await self.ok("channel.subscribe", self.presence(channel, user_info))
        if channel.startswith("private-"):
            return await self.ok("channel.subscribe", self.grant(channel))
        return await self.ok("channel.subscribe", {"channel": channel})


@asynccontextmanager
async def open_peer(engine: Engine, user: str, app_id: str | None = None) -> AsyncGenerator[Peer]:
    """A raw socket of ``user`` (app-key mint), hello read."""
    async with connect(engine, user, app_id) as (ws, hello):
        peer = Peer(engine, ws, hello)
        peer.project = engine.project(app_id)
        yield peer


@asynccontextmanager
async def open_issued_peer(engine: Engine, user: str) -> AsyncGenerator[Peer]:
    """A raw socket of ``user`` whose token the engine's token store issued directly.

    For tests that need many sockets: an HTTP mint costs a new httpx client (and its TLS
    context) each time, and the mint itself is covered by the mint tests.
    """
    token = engine.state.tokens.issue(engine.default_project.app_id, user, 3600)
    async with open_ws(engine, token) as ws:
        hello = await recv(ws)
        assert hello["event"] == "connection.established", hello
        yield Peer(engine, ws, hello["data"])


@asynccontextmanager
async def open_peers(engine: Engine, *users: str) -> AsyncGenerator[list[Peer]]:
    """One socket per name; a repeated name is a second socket of that user."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(open_peer(engine, user)) for user in users]


async def backend(
    engine: Engine,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    client: httpx.AsyncClient | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """A backend REST call with the server secret (or ``headers`` instead).

    Pass ``client`` to reuse one connection (a new httpx client costs ~0.1 s of TLS setup).
    """
    headers = secret_headers(engine) if headers is None else headers
    if client is not None:
        return await client.request(method, path, headers=headers, **kwargs)
    async with http_client(engine) as fresh:
        return await fresh.request(method, path, headers=headers, **kwargs)


async def broadcast(engine: Engine, **body: Any) -> httpx.Response:
    """``POST /api/v1/channels/events`` with ``body`` as JSON."""
    return await backend(engine, "POST", "/api/v1/channels/events", json=body)
