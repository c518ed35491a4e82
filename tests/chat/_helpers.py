"""Helpers of the chat tests: peers with event streams, quiet checks, raw sockets.

Loop-neutral (anyio, and websockets' client of the running loop): the chat tests run under
Trio and asyncio.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Protocol, TypeVar

import anyio
import httpx
import sniffio

from utd_trio import Event, EventStream, MessageReceived, Signaling, UTDApi, open_signaling
from utd_trio.testing import Engine, EngineState, Session
from utd_trio.testing._chat_store import ChatStore
from utd_trio.testing._registry import WsBinding

Creds = Callable[..., dict[str, Any]]
E = TypeVar("E", bound=Event)


class RawWebSocket(Protocol):
    """What the tests use of a bare WebSocket (websockets' Trio and asyncio clients alike)."""

    async def send(self, message: str) -> None: ...

    async def recv(self) -> str | bytes: ...


class Peer:
    """An open session with an event stream subscribed from its first connection."""

    def __init__(self, sig: Signaling, stream: EventStream[Event]) -> None:
        self.sig = sig
        self.stream = stream

    async def next(self, kind: type[E]) -> E:
        """The next event of ``kind`` this peer received (other kinds are skipped)."""
        async for ev in self.stream:
            if isinstance(ev, kind):
                return ev
        raise AssertionError(f"stream ended before a {kind.__name__}")

    async def texts(self, n: int) -> list[str | None]:
        """The texts of the next ``n`` `MessageReceived` events."""
        return [(await self.next(MessageReceived)).message.text for _ in range(n)]

    async def until(self, kind: type[E]) -> tuple[list[Event], E]:
        """Every event before the next ``kind``, and that event."""
        skipped: list[Event] = []
        async for ev in self.stream:
            if isinstance(ev, kind):
                return skipped, ev
            skipped.append(ev)
        raise AssertionError(f"stream ended before a {kind.__name__}")

    async def assert_quiet(self, *kinds: type[Event]) -> None:
        """Nothing of ``kinds`` reached the peer by the time every task is idle."""
        await anyio.wait_all_tasks_blocked()
        while True:
            with anyio.move_on_after(0) as scope:
                ev = await self.stream.receive()
            if scope.cancelled_caught:
                return
            assert not isinstance(ev, kinds), ev


@asynccontextmanager
async def peers(
    engine: Engine, creds: Creds, *users: str, **extra: Any
) -> AsyncIterator[list[Peer]]:
    """Open one session per name (a repeated name is a second device of that user)."""
    async with AsyncExitStack() as stack:
        result: list[Peer] = []
        for user in users:
            sig = await stack.enter_async_context(open_signaling(**creds(engine, user, **extra)))
            stream = await stack.enter_async_context(sig.events())
            result.append(Peer(sig, stream))
        yield result


def stored(engine: Engine, conversation_id: str) -> list[str | None]:
    """The texts the engine stored in a conversation, in seq order."""
    record = engine.state.domain(ChatStore).get(engine.default_project.app_id, conversation_id)
    return [] if record is None else [m.wire.get("text") for m in record.messages]


def wrap_ws_handler(
    engine: Engine,
    event: str,
    after: Callable[[EngineState, Session, dict[str, Any]], Awaitable[None]],
) -> None:
    """Run ``after(state, session, ack)`` once the engine's ``event`` handler has answered."""
    registry: Any = engine.registry
    table: dict[str, WsBinding] = registry._ws
    original = table[event]

    async def wrapped(state: EngineState, session: Session, data: dict[str, Any]) -> Any:
        ack = await original.handler(state, session, data)
        await after(state, session, ack)
        return ack

    table[event] = WsBinding(original.event, wrapped, original.gate)


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
        hello = json.loads(await ws.recv())
        assert hello["event"] == "connection.established"
        yield ws


async def raw_request(ws: RawWebSocket, event: str, data: Any) -> dict[str, Any]:
    """Send a request on a bare socket and return its ``ack`` or ``error`` frame."""
    await ws.send(json.dumps({"event": event, "data": data, "ref": "t1"}))
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame.get("ref") == "t1":
            return frame


async def raw_get(sig: Signaling, path: str, **params: Any) -> httpx.Response:
    """A bearer GET made by hand with ``sig``'s token (to see statuses the SDK refuses)."""
    session = sig.api.session
    assert session is not None
    async with httpx.AsyncClient(base_url=sig.api.base_url) as client:
        return await client.get(
            path, params=params, headers={"Authorization": f"Bearer {session.user_token}"}
        )
