"""Helpers of the signalling-domain tests.

Loop-neutral (anyio, and websockets' client of the running loop): the signalling tests run
under Trio and asyncio.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import pytest
import sniffio

from utd_trio import Event, EventStream, Signaling, UTDApi, UTDStreamError, open_signaling
from utd_trio.testing import Engine

Creds = Callable[..., dict[str, Any]]
E = TypeVar("E", bound=Event)
BARRIER = "test.barrier"  # no handler: the engine answers it with an error, in order


class RawWebSocket(Protocol):
    """What the tests use of a bare WebSocket (websockets' Trio and asyncio clients alike)."""

    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...


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
async def raw_socket(engine: Engine, user: str) -> AsyncIterator[RawWebSocket]:
    """A bare WebSocket of ``user`` (minted with the app key), its hello already read.

    websockets' client of the running loop (its Trio or its asyncio implementation).
    """
    project = engine.default_project
    async with UTDApi(
        app_id=project.app_id, app_key=project.app_key, base_url=engine.base_url
    ) as api:
        session = await api.mint_session(user)
    url = f"{session.ws_url}?token={session.user_token}"
    if sniffio.current_async_library() == "trio":
        from websockets.trio.client import connect
    else:
        from websockets.asyncio.client import connect
    async with connect(url, proxy=None, compression=None, ping_interval=None) as ws:
        hello = await recv(ws)
        assert hello["event"] == "connection.established"
        yield ws


async def recv(ws: RawWebSocket) -> dict[str, Any]:
    """The next frame of a bare WebSocket, decoded."""
    message = await ws.recv()
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
    """Nothing of ``kinds`` has reached the peer by the time every task is idle.

    Idle is not enough under asyncio, whose idea of it ignores bytes still on their way
    through a loopback socket: a round trip on the peer's own socket comes first, so every
    frame the engine queued for it before then has been read.
    """
    await anyio.wait_all_tasks_blocked()
    with pytest.raises(UTDStreamError) as answer:
        await peer.sig.request(BARRIER)
    assert answer.value.status == 404, answer.value  # the engine's answer to an unknown event
    await anyio.wait_all_tasks_blocked()
    while True:
        with anyio.move_on_after(0) as scope:
            ev = await peer.stream.receive()
        if scope.cancelled_caught:
            return
        assert not isinstance(ev, kinds), ev
