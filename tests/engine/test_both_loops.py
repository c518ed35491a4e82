"""The reference engine serves under asyncio and uvloop, not only under Trio.

Each test is a plain function that runs its body with ``anyio.run(..., backend="asyncio")``
(pyproject's ``trio_mode`` would hand any ``async def`` test to pytest-trio), once on the
default asyncio loop and once on uvloop. The clients are raw (httpx for REST, the
``websockets`` asyncio client for /ws), so these tests depend on nothing but the engine.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError

from utd_trio.testing import Engine, open_engine

DEADLINE = 20.0

LOOPS = [
    pytest.param({}, id="asyncio"),
    pytest.param({"use_uvloop": True}, id="uvloop"),
]


def run_on_asyncio(options: dict[str, Any], fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` under ``asyncio.run`` (uvloop with ``use_uvloop``) within the deadline."""

    async def main() -> None:
        assert asyncio.get_running_loop() is not None
        with anyio.fail_after(DEADLINE):
            await fn()

    anyio.run(main, backend="asyncio", backend_options=options)


def verify(engine: Engine) -> ssl.SSLContext | bool:
    return engine.client_ssl_context() if engine.tls else True


async def mint(engine: Engine, identity: str) -> dict[str, Any]:
    project = engine.default_project
    headers = {"X-App-Id": project.app_id, "X-App-Key": project.app_key}
    async with httpx.AsyncClient(base_url=engine.base_url, verify=verify(engine)) as http:
        response = await http.post(
            "/api/v1/auth/session", headers=headers, json={"identity": identity}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def recv(ws: ClientConnection) -> dict[str, Any]:
    message = await ws.recv()
    assert isinstance(message, str)
    frame: dict[str, Any] = json.loads(message)
    return frame


async def open_ws(engine: Engine, identity: str) -> ClientConnection:
    """Mint over REST, open /ws with the minted token and read the hello."""
    minted = await mint(engine, identity)
    assert minted["ws_url"] == engine.ws_url
    url = f"{minted['ws_url']}?token={minted['user_token']}"
    tls = engine.client_ssl_context() if engine.tls else None
    ws = await connect(url, ssl=tls, open_timeout=DEADLINE, close_timeout=DEADLINE)
    try:
        hello = await recv(ws)
    except BaseException:
        await ws.close()
        raise
    assert hello["event"] == "connection.established"
    assert hello["data"]["user_id"] == identity
    return ws


@asynccontextmanager
async def connected(engine: Engine, identity: str) -> AsyncGenerator[ClientConnection]:
    """:func:`open_ws`, closed on exit."""
    ws = await open_ws(engine, identity)
    try:
        yield ws
    finally:
        await ws.close()


@pytest.mark.parametrize("options", LOOPS)
def test_mint_hello_and_ping(options: dict[str, Any]) -> None:
    async def body() -> None:
        async with open_engine() as engine, connected(engine, "alice") as ws:
            assert engine.base_url.startswith("http://127.0.0.1:")
            await ws.send(json.dumps({"event": "ping", "ref": 7}))
            assert await recv(ws) == {"event": "pong", "ref": 7}
            assert engine.socket_count("alice") == 1

    run_on_asyncio(options, body)


@pytest.mark.parametrize("options", LOOPS)
def test_abrupt_drop_resets_the_connection(options: dict[str, Any]) -> None:
    async def body() -> None:
        async with open_engine() as engine, connected(engine, "alice") as ws:
            assert await engine.drop_sockets("alice", code=None) == 1
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
            assert closed.value.rcvd is None  # RST: no close frame came
            assert engine.socket_count("alice") == 0

    run_on_asyncio(options, body)


@pytest.mark.parametrize("options", LOOPS)
def test_drop_with_a_code_sends_a_close_frame(options: dict[str, Any]) -> None:
    async def body() -> None:
        async with open_engine() as engine, connected(engine, "alice") as ws:
            await engine.drop_sockets("alice", code=4001, reason="kicked")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "kicked")

    run_on_asyncio(options, body)


@pytest.mark.parametrize("options", LOOPS)
def test_tls(options: dict[str, Any]) -> None:
    async def body() -> None:
        async with open_engine(tls=True) as engine:
            assert engine.base_url.startswith("https://127.0.0.1:")
            assert engine.ws_url.startswith("wss://127.0.0.1:")
            async with connected(engine, "bob") as ws:
                await ws.send(json.dumps({"event": "ping", "ref": 1}))
                assert await recv(ws) == {"event": "pong", "ref": 1}
                assert await engine.drop_sockets("bob", code=None) == 1
                with pytest.raises(ConnectionClosedError):
                    await ws.recv()

    run_on_asyncio(options, body)


def engine_tasks() -> list[str]:
    """Running tasks whose coroutine is engine or hypercorn code."""
    names: list[str] = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if "hypercorn" in filename or "utd_trio" in filename:
            names.append(repr(task))
    return names


@pytest.mark.parametrize("options", LOOPS)
def test_clean_shutdown(options: dict[str, Any]) -> None:
    async def body() -> None:
        async with open_engine(tls=True) as engine:
            port = int(engine.base_url.rsplit(":", 1)[1])
            async with connected(engine, "carol"):
                pass  # closed by the client: the engine forgets the socket
            await engine.wait_socket_count("carol", 0)
            ws = await open_ws(engine, "carol")
            # an idle keep-alive HTTP connection stays open across the exit too
            http = httpx.AsyncClient(base_url=engine.base_url, verify=verify(engine))
            assert (await http.get("/api/v1/nothing-here")).status_code == 404
        # the engine has exited while a WebSocket and an HTTP connection were open
        assert engine_tasks() == []
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
        await ws.close()
        await http.aclose()
        with pytest.raises(OSError, match="connection attempts failed"):
            await anyio.connect_tcp("127.0.0.1", port)

    run_on_asyncio(options, body)
