"""An outside client of ``utd-trio serve``: httpx and trio-websocket only, no ``utd_trio``.

What another process or language would do: mint over REST, open ``/ws``, send JSON frames,
and steer the engine through ``/_control/...``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio_websocket

TIMEOUT = 30


@dataclass
class Control:
    """``/_control/...`` calls; remembers which ones answered 200."""

    http: httpx.AsyncClient
    covered: set[tuple[str, str]] = field(default_factory=set[tuple[str, str]])

    async def call(
        self,
        method: str,
        name: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        *,
        expect: int = 200,
    ) -> dict[str, Any]:
        """Make one control call, check its status and return its JSON object."""
        response = await self.http.request(method, f"/_control/{name}", json=body, params=params)
        assert response.status_code == expect, (method, name, response.status_code, response.text)
        answer: dict[str, Any] = response.json()
        assert isinstance(answer, dict)
        if response.status_code == 200:
            self.covered.add((method, name))
        return answer


async def mint(http: httpx.AsyncClient, app_id: str, identity: str, key: str) -> httpx.Response:
    """``POST /api/v1/auth/session`` with an app key."""
    return await http.post(
        "/api/v1/auth/session",
        headers={"X-App-Id": app_id, "X-App-Key": key},
        json={"identity": identity},
    )


@dataclass
class Peer:
    """One open ``/ws`` of a user, with the frames read but not yet claimed."""

    ws: trio_websocket.WebSocketConnection
    hello: dict[str, Any]
    token: str
    inbox: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    async def send(self, frame: Any) -> None:
        """Send a frame (any JSON value, or raw text)."""
        await self.ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))

    async def _read(self) -> dict[str, Any]:
        message = await self.ws.get_message()
        assert isinstance(message, str)
        frame: dict[str, Any] = json.loads(message)
        return frame

    async def next(self, event: str | None = None, ref: str | None = None) -> dict[str, Any]:
        """The next frame with this event and/or ref (earlier unclaimed frames first)."""

        def wanted(frame: dict[str, Any]) -> bool:
            return (event is None or frame.get("event") == event) and (
                ref is None or frame.get("ref") == ref
            )

        for index, frame in enumerate(self.inbox):
            if wanted(frame):
                return self.inbox.pop(index)
        while True:
            frame = await self._read()
            if wanted(frame):
                return frame
            self.inbox.append(frame)

    async def request(self, event: str, data: dict[str, Any], ref: str) -> dict[str, Any]:
        """Send a request and return its reply (``ack`` or ``error``)."""
        await self.send({"event": event, "data": data, "ref": ref})
        return await self.next(ref=ref)

    async def close_code(self) -> int | None:
        """Read until the engine closes the socket; its close code (1006 = no close frame)."""
        try:
            while True:
                await self.ws.get_message()
        except trio_websocket.ConnectionClosed as closed:
            return None if closed.reason is None else closed.reason.code


@asynccontextmanager
async def peer(
    http: httpx.AsyncClient, ws_url: str, app_id: str, identity: str, key: str
) -> AsyncGenerator[Peer]:
    """Mint ``identity`` and open its socket; yield once the hello was read."""
    response = await mint(http, app_id, identity, key)
    assert response.status_code == 200, response.text
    token: str = response.json()["user_token"]
    async with trio_websocket.open_websocket_url(f"{ws_url}?token={token}") as ws:
        first = Peer(ws, {}, token)
        hello = await first._read()  # pyright: ignore[reportPrivateUsage]
        assert hello["event"] == "connection.established", hello
        first.hello = hello["data"]
        yield first
