"""The public API on uvloop: messages, requests and a reconnect, plain and over TLS.

Plain functions that run their body with ``anyio.run(..., backend="asyncio")`` on uvloop
(pyproject's ``trio_mode`` would hand any ``async def`` test to pytest-trio). uvloop's
transports are not ``asyncio.Transport`` subclasses and its loop is not asyncio's, so this is
the seam's native asyncio stream, waiter and parking lot on another loop implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from utd_trio import Connected, ConnectionState, MessageReceived, open_signaling
from utd_trio.testing import Engine, EngineState, Session, open_engine

uvloop = pytest.importorskip("uvloop")

DEADLINE = 30.0


def run_on_uvloop(fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` on a uvloop event loop within the deadline."""

    async def main() -> None:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        with anyio.fail_after(DEADLINE):
            await fn()

    anyio.run(main, backend="asyncio", backend_options={"use_uvloop": True})


async def _echo(state: EngineState, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    return {"echo": data}


async def converse(engine: Engine, **extra: Any) -> None:
    """Alice writes to bob, bob asks the engine, loses his socket, comes back, still hears."""
    engine.registry.ws_handler("test.echo", _echo)
    async with (
        open_signaling(**{**engine.signaling_kwargs("alice"), **extra}) as alice,
        open_signaling(**{**engine.signaling_kwargs("bob"), **extra}) as bob,
        bob.events(MessageReceived) as messages,
        bob.events(Connected) as reconnects,
    ):
        assert alice.state is ConnectionState.CONNECTED
        assert bob.state is ConnectionState.CONNECTED
        sent = await alice.send_message(to="bob", text="first")
        got = await messages.receive()
        assert isinstance(got, MessageReceived)
        assert (got.message.id, got.message.text) == (sent.id, "first")
        assert not got.recovered

        assert await bob.request("test.echo", {"n": 1}) == {"echo": {"n": 1}}

        assert await engine.drop_sockets("bob") == 1
        back = await reconnects.receive()
        assert isinstance(back, Connected)
        assert back.generation == 2
        assert bob.state is ConnectionState.CONNECTED

        sent = await alice.send_message(to="bob", text="second")
        got = await messages.receive()
        assert isinstance(got, MessageReceived)
        assert (got.message.id, got.message.text) == (sent.id, "second")
        assert await bob.request("test.echo", {"n": 2}) == {"echo": {"n": 2}}
    assert alice.state is ConnectionState.CLOSED
    assert bob.state is ConnectionState.CLOSED
    await engine.wait_socket_count("alice", 0)
    await engine.wait_socket_count("bob", 0)


def test_message_request_and_reconnect_on_uvloop() -> None:
    async def body() -> None:
        async with open_engine() as engine:
            await converse(engine)

    run_on_uvloop(body)


def test_message_request_and_reconnect_over_tls_on_uvloop() -> None:
    async def body() -> None:
        async with open_engine(tls=True) as engine:
            assert engine.ws_url.startswith("wss://127.0.0.1:")
            await converse(engine, ssl_context=engine.client_ssl_context())

    run_on_uvloop(body)
