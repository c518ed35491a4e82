"""Helpers for the `UTDApi` tests: the real reference engine on loopback, plus two tiny raw
TCP peers (one that never answers, one that answers a fixed byte string) for the transport
failure cases the engine cannot produce."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import pytest

from utd_trio import UTDApi
from utd_trio.testing import Engine, RestContext

PUSH_TOKEN_PATH = "/api/v1/devices/push-token"


def make_api(engine: Engine, *, secret: bool = False, **extra: Any) -> UTDApi:
    """A `UTDApi` for the engine's default project (app key, or the server secret)."""
    project = engine.default_project
    creds = {"app_secret": project.app_secret} if secret else {"app_key": project.app_key}
    kwargs: dict[str, Any] = {"app_id": project.app_id, "base_url": engine.base_url, **creds}
    if engine.tls and "http_client" not in extra:
        kwargs["ssl_context"] = engine.client_ssl_context()
    kwargs.update(extra)
    return UTDApi(**kwargs)


@pytest.fixture
def api_for() -> Callable[..., UTDApi]:
    """``api_for(engine, secret=False, **extra)`` → a `UTDApi` for the default project."""
    return make_api


@pytest.fixture
async def bearer_engine(utd_engine: Engine) -> Engine:
    """The engine with a bearer-authenticated push-token route.

    The engine's own devices domain serves it once that lands; until then the route is
    added through the engine's public registry (the engine still does the bearer auth and
    the ban check, which is what these tests are about).
    """
    paths = {spec.path for spec in utd_engine.registry.routes}
    if PUSH_TOKEN_PATH not in paths:

        async def ok(ctx: RestContext) -> dict[str, Any]:
            await ctx.json()
            return {"ok": True}

        utd_engine.registry.route(PUSH_TOKEN_PATH, ok, methods=["POST", "DELETE"])
    return utd_engine


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes | None], Awaitable[int]]]:
    """``await raw_server(reply)`` → port of a 127.0.0.1 listener for this test.

    ``reply=None``: accept and never answer. Else: read the request head, send ``reply``
    verbatim, close.
    """
    async with anyio.create_task_group() as tg:

        async def start(reply: bytes | None) -> int:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1")

            async def handle(stream: anyio.abc.SocketStream) -> None:
                async with stream:
                    if reply is None:
                        await anyio.sleep_forever()
                    data = b""
                    while b"\r\n\r\n" not in data:
                        try:
                            data += await stream.receive()
                        except anyio.EndOfStream:
                            return
                    await stream.send(reply)

            async def serve() -> None:
                async with listener:
                    await listener.serve(handle)

            tg.start_soon(serve)
            port: int = listener.extra(anyio.abc.SocketAttribute.local_port)
            return port

        yield start
        tg.cancel_scope.cancel()
