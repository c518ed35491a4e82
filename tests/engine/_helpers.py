"""Raw clients for engine tests: httpx for REST, trio-websocket for /ws (never the SDK)."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import trio_websocket
from trio_websocket import WebSocketConnection

from utd_trio.testing import Engine

TIMEOUT = 10


def key_headers(engine: Engine, app_id: str | None = None) -> dict[str, str]:
    project = engine.project(app_id)
    return {"X-App-Id": project.app_id, "X-App-Key": project.app_key}


def secret_headers(engine: Engine, app_id: str | None = None) -> dict[str, str]:
    project = engine.project(app_id)
    return {"X-App-Id": project.app_id, "X-App-Secret": project.app_secret}


def http_client(engine: Engine) -> httpx.AsyncClient:
    verify: ssl.SSLContext | bool = engine.client_ssl_context() if engine.tls else True
    return httpx.AsyncClient(base_url=engine.base_url, verify=verify)


async def mint_response(
    engine: Engine,
    identity: str | None = "alice",
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    content: bytes | None = None,
) -> httpx.Response:
    async with http_client(engine) as client:
        if content is None:
            payload = {"identity": identity} if body is None else body
            content = json.dumps(payload).encode()
        return await client.post(
            "/api/v1/auth/session",
            headers=key_headers(engine) if headers is None else headers,
            content=content,
        )


async def mint(engine: Engine, identity: str = "alice", app_id: str | None = None) -> str:
    response = await mint_response(engine, identity, headers=key_headers(engine, app_id))
    assert response.status_code == 200, response.text
    token: str = response.json()["user_token"]
    return token


async def recv(ws: WebSocketConnection) -> dict[str, Any]:
    message = await ws.get_message()
    assert isinstance(message, str)
    frame: dict[str, Any] = json.loads(message)
    return frame


async def send(ws: WebSocketConnection, frame: Any) -> None:
    await ws.send_message(json.dumps(frame))


def ws_ssl(engine: Engine) -> ssl.SSLContext | None:
    return engine.client_ssl_context() if engine.tls else None


@asynccontextmanager
async def open_ws(
    engine: Engine, token: str, *, via_header: bool = False
) -> AsyncIterator[WebSocketConnection]:
    url = engine.ws_url if via_header else f"{engine.ws_url}?token={token}"
    headers = [(b"authorization", f"Bearer {token}".encode())] if via_header else None
    async with trio_websocket.open_websocket_url(
        url, ws_ssl(engine), extra_headers=headers, max_message_size=4 * 1024 * 1024
    ) as ws:
        yield ws


@asynccontextmanager
async def connect(
    engine: Engine, identity: str = "alice", app_id: str | None = None
) -> AsyncIterator[tuple[WebSocketConnection, dict[str, Any]]]:
    """Mint, open /ws and read the hello."""
    token = await mint(engine, identity, app_id)
    async with open_ws(engine, token) as ws:
        hello = await recv(ws)
        assert hello["event"] == "connection.established"
        yield ws, hello["data"]
