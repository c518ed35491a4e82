"""`WebSocket.receive_inline`: messages handed on where they arrive, before the reader wakes.

asyncio offers arrivals in the transport's callback; Trio, over plain TCP, in its arrival
poller's task (`_backend/_trio_arrivals.py`). Both loops run the same sequences.

The sink and the waiting `receive` together must see every message once, in wire order,
whatever the reads hold: whole text frames may skip the reader, the rest of a read from the
first frame of another kind may not, nor a read that continues a cut frame.
"""

from __future__ import annotations

import anyio
import pytest
from wsproto.events import Ping, Pong, TextMessage

from utd_trio._backend import current_backend
from utd_trio._backend._trio_arrivals import available as poller_available
from utd_trio._transport._websocket import WebSocket, WebSocketClosed

from ._peer import Peer, connected

pytestmark = pytest.mark.both_loops

IO = 10


class Collector:
    """Where each message came from: the sink (``inline``) or `receive` (``read``)."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.inline: list[str] = []
        self.read: list[str] = []
        self._grew = anyio.Event()

    def sink(self, messages: list[str | bytes]) -> None:
        self._add(messages, self.inline)

    async def read_until_closed(self, ws: WebSocket) -> None:
        try:
            while True:
                self._add(await ws.receive(), self.read)
        except WebSocketClosed:
            return

    async def wait_for(self, n: int) -> None:
        while len(self.order) < n:
            await self._grew.wait()
            self._grew = anyio.Event()

    def _add(self, messages: list[str | bytes], into: list[str]) -> None:
        texts = [str(m) for m in messages]
        self.order += texts
        into += texts
        self._grew.set()


async def test_whole_frames_go_to_the_sink_and_the_rest_to_receive_in_wire_order() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer), anyio.create_task_group() as tg:
            got = Collector()
            inline = ws.receive_inline(got.sink)
            assert inline is (current_backend() == "asyncio" or poller_available)
            tg.start_soon(got.read_until_closed, ws)
            # One write at a time, each handled before the next is sent (no two reads merge).
            await peer.send(TextMessage("a"), TextMessage("b"))
            await got.wait_for(2)
            # "c" in the callback; the ping after it wakes the reader, which answers it.
            await peer.send(TextMessage("c"), Ping(b"p"))
            await got.wait_for(3)
            assert await peer.next_event() == Pong(b"p")
            await peer.send(TextMessage("d"))
            await got.wait_for(4)
            e = peer.ws.send(TextMessage("e" * 3000))
            await peer.send_raw(peer.ws.send(TextMessage("x")) + e[:1000])  # "e" is held
            await got.wait_for(5)
            await peer.send_raw(e[1000:])  # its end goes to the reader
            await got.wait_for(6)
            await peer.send(TextMessage("f"))
            await got.wait_for(7)
            assert got.order == ["a", "b", "c", "d", "x", "e" * 3000, "f"]
            if inline:
                assert got.inline == ["a", "b", "c", "d", "x", "f"]
                assert got.read == ["e" * 3000]
            else:  # Trio without epoll: `receive` sees it all, in the same order
                assert got.inline == []
            await peer.aclose()


async def _park_and_feed(ws: WebSocket, peer: Peer, *frames: TextMessage) -> BaseException:
    """Send ``frames`` while `receive` waits; what `receive` raised."""
    raised: list[BaseException] = []

    async def read() -> None:
        try:
            await ws.receive()
        except Exception as exc:
            raised.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        await peer.send(*frames)
    return raised[0]


async def test_a_sink_that_raises_fails_the_waiting_receive_with_its_error() -> None:
    def broken(messages: list[str | bytes]) -> None:
        raise LookupError(f"sink failed on {messages}")

    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            assert ws.receive_inline(broken)
            raised = await _park_and_feed(ws, peer, TextMessage("x"))
            assert isinstance(raised, LookupError)
            assert str(raised) == "sink failed on ['x']"


async def test_removing_the_sink_leaves_every_message_to_receive() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            seen: list[list[str | bytes]] = []
            ws.receive_inline(seen.append)
            ws.receive_inline(None)
            await peer.send(TextMessage("only"))
            assert await ws.receive() == ["only"]
            assert seen == []
