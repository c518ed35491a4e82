"""The baseline of the idle scale figures: the same idle users kept alive without the SDK.

``scale.py --variants bare`` opens N of these instead of N sessions, in a worker of the same
shape, against an engine of the same shape, so the two idle costs compare in one run. Each
connection does the least this engine's protocol asks of a client (contract §5), with the
loop's usual bare WebSocket library — ``websockets`` (``websockets.asyncio.client``: no
compression, no keepalive of its own) on asyncio, trio-websocket on Trio:

- a session minted over REST (``UTDApi.mint_session``, on the worker's shared httpx client,
  as the SDK sessions of the ``shared-http`` variant are), tried again up to
  `MINT_ATTEMPTS` times on a network error (an engine busy with thousands of connects resets
  a few keep-alive connections; the SDK's supervisor retries those too);
- a reader task that decodes every frame with ``json.loads`` (the hello first, then pongs);
- a ping task that sends ``{"event": "ping", "ref"}`` every ``heartbeat_interval`` of the
  hello, as a client written by hand would: a sleep per connection, no shared schedule.

Nothing more: no dead-peer check, no reconnect, no requests, no events API. What the SDK
costs above this is what its guarantees cost; below it, what its design saves.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import anyio.abc
import sniffio

from utd_trio import ErrorCode, UTDApi, UTDStreamError
from utd_trio._protocol._urls import ws_url_with_token

__all__ = ["BareConnection", "bare_connection"]

MINT_ATTEMPTS = 3

Receive = Callable[[], Awaitable[str | bytes]]
Send = Callable[[str], Awaitable[None]]

_refs = itertools.count()


class BareConnection:
    """One bare connection: `connected` until its reader saw the socket end."""

    def __init__(self) -> None:
        self.connected = False
        self.pings_sent = 0
        self.reconnects = 0  # it never reconnects (the sessions' figure, for the same report)

    async def run(
        self, receive: Receive, send: Send, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        """Read the hello, report started, then read and ping until the socket ends."""
        hello = json.loads(await receive())
        interval = float(hello["data"]["heartbeat_interval"])
        self.connected = True
        task_status.started()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._ping, send, interval)
            try:
                while True:
                    json.loads(await receive())
            except Exception:  # the socket ended (each library has its own error)
                self.connected = False
            tg.cancel_scope.cancel()

    async def _ping(self, send: Send, interval: float) -> None:
        while True:
            await anyio.sleep(interval)
            await send(json.dumps({"event": "ping", "ref": f"p{next(_refs)}"}))
            self.pings_sent += 1


@contextlib.asynccontextmanager
async def bare_connection(api: UTDApi, user_id: str) -> AsyncIterator[BareConnection]:
    """A minted, connected `BareConnection` for ``user_id``, closed (handshake) on exit."""
    for attempt in range(1, MINT_ATTEMPTS + 1):
        try:
            session = await api.mint_session(user_id)
            break
        except UTDStreamError as exc:
            if exc.code is not ErrorCode.NETWORK or attempt == MINT_ATTEMPTS:
                raise
    url = ws_url_with_token(session.ws_url, session.user_token)
    conn = BareConnection()
    async with bare_socket(url) as (receive, send), anyio.create_task_group() as tg:
        await tg.start(conn.run, receive, send)
        try:
            yield conn
        finally:
            tg.cancel_scope.cancel()


@contextlib.asynccontextmanager
async def bare_socket(url: str) -> AsyncIterator[tuple[Receive, Send]]:
    """A bare WebSocket client's receive and send: trio-websocket on Trio, `websockets` else."""
    if sniffio.current_async_library() == "trio":
        import trio_websocket

        async with trio_websocket.open_websocket_url(url) as tws:
            yield tws.get_message, tws.send_message
        return
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, ping_interval=None, proxy=None) as ws:

        async def send(text: str) -> None:
            await ws.send(text)

        yield ws.recv, send
