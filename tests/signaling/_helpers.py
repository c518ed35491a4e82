"""Helpers of the signalling-domain tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import trio
import trio.testing
import trio_websocket
from trio_websocket import WebSocketConnection

from utd_trio import Event, EventStream, Signaling, UTDApi, open_signaling
from utd_trio.testing import Engine

Creds = Callable[..., dict[str, Any]]
E = TypeVar("E", bound=Event)


async def next_of(stream: EventStream[Event], kind: type[E]) -> E:
    """The next event of ``kind`` on ``stream`` (other kinds are skipped)."""
    async for ev in stream:
        if isinstance(ev, kind):
            return ev
    raise AssertionError(f"stream ended before a {kind.__name__}")


class Peer:
    """An open session with an event stream subscribed from its first connection."""

    def __init__(self, sig: Signaling, stream: EventStream[Event]) -> None:
        self.sig = sig
        self.stream = stream

    async def next(self, kind: type[E]) -> E:
        """The next event of ``kind`` this peer received."""
        return await next_of(self.stream, kind)


@asynccontextmanager
async def peers(
    engine: Engine, creds: Creds, *users: str, **extra: Any
) -> AsyncIterator[list[Peer]]:
    """Open one session per name (a name may repeat: a second device of that user)."""
    async with AsyncExitStack() as stack:
        result: list[Peer] = []
        for user in users:
            sig = await stack.enter_async_context(open_signaling(**creds(engine, user, **extra)))
            stream = await stack.enter_async_context(sig.events())
            result.append(Peer(sig, stream))
        yield result


@asynccontextmanager
async def raw_socket(engine: Engine, user: str) -> AsyncIterator[WebSocketConnection]:
    """A bare WebSocket of ``user`` (minted with the app key), its hello already read."""
    project = engine.default_project
    async with UTDApi(
        app_id=project.app_id, app_key=project.app_key, base_url=engine.base_url
    ) as api:
        session = await api.mint_session(user)
    url = f"{session.ws_url}?token={session.user_token}"
    async with trio_websocket.open_websocket_url(url) as ws:
        hello = await recv(ws)
        assert hello["event"] == "connection.established"
        yield ws


async def recv(ws: WebSocketConnection) -> dict[str, Any]:
    """The next frame of a bare WebSocket, decoded."""
    message = await ws.get_message()
    assert isinstance(message, str)
    frame: dict[str, Any] = json.loads(message)
    return frame


async def collect_until(peer: Peer, kind: type[E]) -> tuple[list[Event], E]:
    """Every event before the next ``kind``, and that event."""
    skipped: list[Event] = []
    async for ev in peer.stream:
        if isinstance(ev, kind):
            return skipped, ev
        skipped.append(ev)
    raise AssertionError(f"stream ended before a {kind.__name__}")


async def assert_quiet(peer: Peer, *kinds: type[Event]) -> None:
    """Nothing of ``kinds`` has reached the peer by the time every task is idle."""
    await trio.testing.wait_all_tasks_blocked()
    while True:
        with trio.move_on_after(0) as scope:
            ev = await peer.stream.receive()
        if scope.cancelled_caught:
            return
        assert not isinstance(ev, kinds), ev
