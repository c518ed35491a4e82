"""`open_signal_client` on the SDK transport, against a scripted peer: the edges of one read."""

from __future__ import annotations

import json

import anyio
import pytest
from wsproto.events import CloseConnection, TextMessage

from utd_trio import ErrorCode, Session, UTDStreamError
from utd_trio._protocol._codec import Frame
from utd_trio._transport._connect import open_signal_client

from ._peer import one_peer

pytestmark = pytest.mark.both_loops

IO = 10
HELLO = json.dumps(
    {
        "event": "connection.established",
        "data": {"socket_id": "s1", "user_id": "alice", "heartbeat_interval": 25},
    }
)


def event(name: str, **data: object) -> str:
    return json.dumps({"event": name, "data": data})


def session(port: int) -> Session:
    return Session(user_token="tok_raw", ws_url=f"ws://127.0.0.1:{port}/ws")


async def test_events_in_the_same_read_as_the_hello_reach_the_callback() -> None:
    seen: list[Frame] = []
    got_two = anyio.Event()

    def on_frame(frame: Frame) -> None:
        seen.append(frame)
        if len(seen) == 2:
            got_two.set()

    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as tg:

            async def serve() -> None:
                peer = await peers.receive()
                await peer.read_request()
                frames = [HELLO, event("presence.update", user_id="bob", online=True)]
                frames.append(event("call.incoming", call_id="c1", caller_id="bob"))
                await peer.accept(*(TextMessage(f) for f in frames))
                await peer.answer_close()

            tg.start_soon(serve)
            async with open_signal_client(session(port), on_frame=on_frame) as client:
                await got_two.wait()
                assert client.hello.socket_id == "s1"
            assert [f.event for f in seen] == ["presence.update", "call.incoming"]


async def test_outside_cancellation_closes_with_1000() -> None:
    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as server:
            ready = anyio.Event()
            closes: list[CloseConnection] = []

            async def serve() -> None:
                peer = await peers.receive()
                await peer.accept(TextMessage(HELLO))
                ready.set()
                closes.append(await peer.answer_close())

            server.start_soon(serve)
            with anyio.CancelScope() as outside:
                async with open_signal_client(session(port)) as client:
                    await ready.wait()
                    outside.cancel()
                    await anyio.sleep_forever()
            info = client.close_info
            assert info is not None
            assert (info.by_client, info.code) == (True, 1000)
            assert [c.code for c in closes] == [1000]


async def test_a_close_before_the_hello_is_classified() -> None:
    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as tg:

            async def serve() -> None:
                peer = await peers.receive()
                await peer.accept(CloseConnection(4003, "banned"))

            tg.start_soon(serve)
            with pytest.raises(UTDStreamError) as refused:
                async with open_signal_client(session(port)):
                    pytest.fail("no hello was sent")
            assert refused.value.code is ErrorCode.BANNED
            assert refused.value.status == 4003
