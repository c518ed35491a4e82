"""The SDK's WebSocket transport against a scripted wsproto peer over a loopback socket."""

from __future__ import annotations

import anyio
import pytest
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from utd_trio import ErrorCode, UTDStreamError
from utd_trio._transport._websocket import HandshakeRejected, WebSocket, WebSocketClosed

from ._peer import MAX_MESSAGE, connect, connected, one_peer

pytestmark = pytest.mark.both_loops

IO = 10


async def receive_n(ws: WebSocket, n: int) -> list[str | bytes]:
    got: list[str | bytes] = []
    while len(got) < n:
        got += await ws.receive()
    return got


async def test_frames_that_arrive_with_the_101_are_kept() -> None:
    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as tg:

            async def serve() -> None:
                peer = await peers.receive()
                await peer.accept(*(TextMessage(f"m{i}") for i in range(3)))  # one write

            tg.start_soon(serve)
            ws = await connect(port)
            assert await ws.receive() == ["m0", "m1", "m2"]
            await ws.abort()


async def test_fragmented_text_and_bytes_are_reassembled() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            for part, last in (("he", False), ("ll", False), ("o", True)):
                await peer.send(TextMessage(part, message_finished=last))
            await peer.send(
                BytesMessage(b"\x00\x01", message_finished=False),
                BytesMessage(b"\x02", message_finished=True),
            )
            assert await receive_n(ws, 2) == ["hello", b"\x00\x01\x02"]


async def test_a_ping_gets_its_pong_and_messages_keep_flowing() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            await peer.send(Ping(b"hb1"), TextMessage("after"))
            assert await receive_n(ws, 1) == ["after"]
            assert await peer.next_event() == Pong(b"hb1")


async def test_messages_before_a_close_frame_come_first_then_the_close() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            await peer.send(TextMessage("a"), TextMessage("b"), CloseConnection(4008, "idle"))
            assert await receive_n(ws, 2) == ["a", "b"]
            with pytest.raises(WebSocketClosed) as closed:
                await ws.receive()
            assert (closed.value.code, closed.value.reason) == (4008, "idle")
            reply = await peer.next_event()
            assert isinstance(reply, CloseConnection)
            assert reply.code == 4008  # the close is answered with the same code
            with pytest.raises(WebSocketClosed):
                await ws.send_text("late")


async def test_client_close_handshake_reads_the_peer_reply() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            await ws.send_close(1000, "bye")
            await ws.send_close(1000, "again")  # no-op once closing
            sent = await peer.next_event()
            assert isinstance(sent, CloseConnection)
            assert (sent.code, sent.reason) == (1000, "bye")
            with pytest.raises(WebSocketClosed):
                await ws.send_text("after close")
            await peer.send(sent.response())
            with pytest.raises(WebSocketClosed) as closed:
                await receive_n(ws, 1)
            assert closed.value.code == 1000


@pytest.mark.parametrize("fragmented", [False, True], ids=["one-frame", "fragments"])
async def test_a_message_past_the_guard_closes_with_1009(fragmented: bool) -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            await peer.send(TextMessage("small"))
            big = "z" * (MAX_MESSAGE + 10)
            if fragmented:
                chunks = [big[i : i + 1000] for i in range(0, len(big), 1000)]
                for i, chunk in enumerate(chunks):
                    await peer.send(TextMessage(chunk, message_finished=i == len(chunks) - 1))
            else:
                await peer.send(TextMessage(big))
            assert await receive_n(ws, 1) == ["small"]
            with pytest.raises(WebSocketClosed) as closed:
                await receive_n(ws, 1)
            assert closed.value.code == 1009
            event = await peer.next_event()
            while not isinstance(event, CloseConnection):
                event = await peer.next_event()
            assert event.code == 1009


async def test_a_protocol_error_closes_with_1002() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            await peer.send_raw(b"\x83\x00")  # reserved opcode 0x3
            with pytest.raises(WebSocketClosed) as closed:
                await receive_n(ws, 1)
            assert closed.value.code == 1002
            event = await peer.next_event()
            assert isinstance(event, CloseConnection)
            assert event.code == 1002


async def test_end_of_stream_without_close_frame_is_1006() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            await peer.send(TextMessage("last"))
            await peer.aclose()
            assert await receive_n(ws, 1) == ["last"]
            with pytest.raises(WebSocketClosed) as closed:
                await ws.receive()
            assert closed.value.code == 1006
            with pytest.raises(WebSocketClosed) as again:
                await ws.receive()
            assert again.value is closed.value


async def test_concurrent_sends_never_interleave() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            expected = {f"{t}:{i}:" + "p" * 30_000 for t in range(10) for i in range(10)}

            async def sender(t: int) -> None:
                for i in range(10):
                    await ws.send_text(f"{t}:{i}:" + "p" * 30_000)

            got: set[str] = set()
            async with anyio.create_task_group() as tg:
                for t in range(10):
                    tg.start_soon(sender, t)
                parts: list[str] = []
                while len(got) < len(expected):
                    event = await peer.next_event()
                    assert isinstance(event, TextMessage)
                    parts.append(event.data)
                    if event.message_finished:
                        got.add("".join(parts))
                        parts = []
            assert got == expected


async def test_a_cancelled_send_leaves_the_socket_unusable() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            peer.hold_reads()
            # 32 MiB cannot fit in loopback socket buffers: the send is still blocked then.
            with anyio.move_on_after(0.2) as scope:
                await ws.send_text("x" * (32 * 1024 * 1024))
            assert scope.cancelled_caught
            with pytest.raises(WebSocketClosed):
                await ws.send_text("next")


async def test_an_http_refusal_carries_status_and_body() -> None:
    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as tg:

            async def refuse() -> None:
                await (await peers.receive()).reject(403, b'{"message":"banned"}')

            tg.start_soon(refuse)
            with pytest.raises(HandshakeRejected) as refused:
                await connect(port)
            assert (refused.value.status, refused.value.body) == (403, b'{"message":"banned"}')


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (b"garbage\r\n\r\n", "bad upgrade response"),
        (b"", "closed the connection during the upgrade"),
    ],
    ids=["not-http", "eof"],
)
async def test_a_peer_that_speaks_no_websocket_is_a_network_error(reply: bytes, why: str) -> None:
    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as tg:

            async def answer() -> None:
                peer = await peers.receive()
                await peer.read_request()
                await peer.send_raw(reply)
                await peer.aclose()

            tg.start_soon(answer)
            with pytest.raises(UTDStreamError) as failed:
                await connect(port)
            assert failed.value.code is ErrorCode.NETWORK
            assert why in str(failed.value)


async def test_the_upgrade_request_carries_host_and_resource_only() -> None:
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            assert peer.request is not None
            assert peer.request.target == "/ws?token=tok_peer"
            assert peer.request.host == f"127.0.0.1:{peer.local_port}"
            assert "tok_peer" not in repr(ws)


async def test_an_idle_socket_keeps_no_wsproto_state_and_gets_it_back_when_needed() -> None:
    # After the upgrade an open socket holding nothing drops wsproto's connection (~4 KiB
    # with the handshake); a control frame, a fragment or our own close make it again.
    with anyio.fail_after(IO):
        async with connected() as (ws, peer):
            assert ws._proto is None  # pyright: ignore[reportPrivateUsage]
            await ws.send_text("up")  # text frames are encoded without wsproto
            assert ws._proto is None  # pyright: ignore[reportPrivateUsage]
            assert await peer.next_event() == TextMessage("up")
            await peer.send(TextMessage("fa", message_finished=False), Ping(b"p"))
            await peer.send(TextMessage("st", message_finished=True))
            assert await receive_n(ws, 1) == ["fast"]
            assert await peer.next_event() == Pong(b"p")
            await ws.send_close(1000, "bye")
            sent = await peer.next_event()
            assert isinstance(sent, CloseConnection)
            assert sent.code == 1000


async def test_a_fragment_that_arrives_with_the_101_is_completed_by_a_later_read() -> None:
    # wsproto holds the fragment (kept past the upgrade, or made again for the next read).
    with anyio.fail_after(IO):
        async with one_peer() as (port, peers), anyio.create_task_group() as tg:

            async def serve() -> None:
                peer = await peers.receive()
                await peer.accept(TextMessage("part", message_finished=False))  # with the 101
                await peer.send(TextMessage("-rest", message_finished=True))

            tg.start_soon(serve)
            ws = await connect(port)
            assert await receive_n(ws, 1) == ["part-rest"]
            await ws.abort()
