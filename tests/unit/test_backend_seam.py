"""The loop seam (`utd_trio._backend`): the parking lot and the loop detection, on both loops."""

from __future__ import annotations

import os
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest
import trustme
from anyio.abc import SocketAttribute
from anyio.streams.memory import MemoryObjectReceiveStream
from anyio.streams.tls import TLSStream

from utd_trio._backend import (
    ByteStream,
    ParkingLot,
    StreamBroken,
    Waiter,
    current_backend,
    current_clock,
    open_stream,
)
from utd_trio._backend._asyncio_stream import _HIGH_WATER, AsyncioStream

pytestmark = pytest.mark.both_loops


async def test_unpark_wakes_the_first_parked_task_only(anyio_backend: str) -> None:
    lot = ParkingLot()
    woken: list[int] = []

    async def park(i: int) -> None:
        await lot.park()
        woken.append(i)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            for i in range(3):
                tasks.start_soon(park, i)
                await anyio.wait_all_tasks_blocked()
            assert len(lot) == 3
            assert lot
            lot.unpark()
            await anyio.wait_all_tasks_blocked()
            assert woken == [0]
            lot.unpark_all()
    assert woken[0] == 0
    assert sorted(woken) == [0, 1, 2]  # the rest wake together, in any order
    assert not lot
    assert current_backend() == anyio_backend


async def test_a_cancelled_waiter_leaves_no_stale_entry(anyio_backend: str) -> None:
    lot = ParkingLot()
    woken: list[str] = []

    async def park(name: str, scope: anyio.CancelScope) -> None:
        with scope:
            await lot.park()
            woken.append(name)

    first, second = anyio.CancelScope(), anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(park, "first", first)
            await anyio.wait_all_tasks_blocked()
            tasks.start_soon(park, "second", second)
            await anyio.wait_all_tasks_blocked()
            first.cancel()
            await anyio.wait_all_tasks_blocked()
            assert len(lot) == 1
            # The one wake-up goes to the task still waiting, not to the cancelled one.
            lot.unpark()
    assert woken == ["second"]


async def test_the_clock_is_the_one_anyio_reads(anyio_backend: str) -> None:
    clock = current_clock()
    before = anyio.current_time()
    assert before <= clock() <= anyio.current_time()


def test_outside_a_loop_the_seam_says_how_to_use_it() -> None:
    with pytest.raises(RuntimeError, match=r"trio\.run\(\) or asyncio\.run\(\)"):
        current_backend()
    ParkingLot()  # a lot can be made outside a loop; its backend is chosen on first park


# ---- Waiter: a request's reply slot -----------------------------------------------------


async def test_waiter_set_before_wait_returns_true_at_once(anyio_backend: str) -> None:
    waiter = Waiter()
    assert not waiter.is_set()
    waiter.set()
    waiter.set()  # setting twice is harmless
    assert waiter.is_set()
    with anyio.fail_after(5):
        start = anyio.current_time()
        assert await waiter.wait(60) is True
        assert await waiter.wait(0) is True  # stays set
    assert anyio.current_time() - start < 1


async def test_waiter_set_from_another_task_wakes_the_wait(anyio_backend: str) -> None:
    waiter = Waiter()
    results: list[bool] = []

    async def wait() -> None:
        results.append(await waiter.wait(60))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            assert results == []  # really waiting
            waiter.set()
    assert results == [True]


async def test_waiter_times_out_with_false(anyio_backend: str) -> None:
    waiter = Waiter()
    with anyio.fail_after(5):
        start = anyio.current_time()
        assert await waiter.wait(0.05) is False
        elapsed = anyio.current_time() - start
    assert 0.04 <= elapsed < 2
    assert not waiter.is_set()
    # A timed-out slot can still be set and waited on again.
    waiter.set()
    with anyio.fail_after(5):
        assert await waiter.wait(60) is True


async def test_waiter_wait_zero_when_not_set_is_false(anyio_backend: str) -> None:
    waiter = Waiter()
    with anyio.fail_after(5):
        assert await waiter.wait(0) is False
        assert await waiter.wait(0) is False
        waiter.set()
        assert await waiter.wait(0) is True


async def test_waiter_cancelled_wait_propagates_and_leaves_nothing_behind(
    anyio_backend: str,
) -> None:
    waiter = Waiter()
    scope = anyio.CancelScope()
    reached: list[bool] = []

    async def wait() -> None:
        with scope:
            reached.append(await waiter.wait(60))  # never returns: the scope cancels it

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            scope.cancel()
    assert scope.cancelled_caught  # a cancellation, caught by the scope that sent it
    assert reached == []
    assert not waiter.is_set()
    waiter.set()  # no stale future or event to trip over
    assert waiter.is_set()
    with anyio.fail_after(5):
        assert await waiter.wait(60) is True


async def test_waiter_cancelled_by_a_deadline_is_not_a_timeout(anyio_backend: str) -> None:
    waiter = Waiter()
    with anyio.fail_after(5):
        with anyio.move_on_after(0.01) as scope:
            await waiter.wait(60)
            pytest.fail("the wait returned although its scope was cancelled")
    assert scope.cancelled_caught
    waiter.set()
    with anyio.fail_after(5):
        assert await waiter.wait(0) is True


# ---- open_stream: the byte stream under a WebSocket -------------------------------------

Accepted = MemoryObjectReceiveStream[anyio.abc.ByteStream]


@asynccontextmanager
async def listening(
    server_context: ssl.SSLContext | None = None,
) -> AsyncIterator[tuple[int, Accepted, list[BaseException]]]:
    """A loopback listener: its port, the accepted (TLS-wrapped) streams, handshake errors."""
    send, receive = anyio.create_memory_object_stream[anyio.abc.ByteStream](4)
    errors: list[BaseException] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port: int = listener.extra(SocketAttribute.local_port)

    async def handler(raw: anyio.abc.SocketStream) -> None:
        async with raw:
            stream: anyio.abc.ByteStream = raw
            if server_context is not None:
                try:
                    stream = await TLSStream.wrap(
                        raw, server_side=True, ssl_context=server_context, standard_compatible=False
                    )
                except (OSError, anyio.BrokenResourceError, anyio.EndOfStream, ssl.SSLError) as exc:
                    errors.append(exc)
                    return
            await send.send(stream)
            await anyio.sleep_forever()

    async with send, receive, listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, handler)
        yield port, receive, errors
        tasks.cancel_scope.cancel()


@asynccontextmanager
async def connected(
    client_context: ssl.SSLContext | None = None,
    server_context: ssl.SSLContext | None = None,
) -> AsyncIterator[tuple[ByteStream, anyio.abc.ByteStream]]:
    """``open_stream`` to a loopback listener: the client stream and the accepted peer."""
    async with listening(server_context) as (port, accepted, _):
        stream = await open_stream("127.0.0.1", port, client_context)
        try:
            peer = await accepted.receive()
            yield stream, peer
        finally:
            await stream.aclose()


async def receive_exactly(stream: ByteStream, n: int, max_bytes: int = 65536) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = await stream.receive_some(max_bytes)
        assert chunk, f"end of stream after {len(data)} of {n} bytes"
        assert len(chunk) <= max_bytes
        data += chunk
    return bytes(data)


async def peer_receive_exactly(peer: anyio.abc.ByteStream, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        data += await peer.receive()
    return bytes(data)


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it was raised from or during."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def reset(peer: anyio.abc.ByteStream) -> socket.socket:
    """Make the peer's close a reset (SO_LINGER 0); returns its raw socket."""
    raw: socket.socket = peer.extra(SocketAttribute.raw_socket)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return raw


def pattern(n: int) -> bytes:
    """``n`` bytes in which any misplaced or missing slice shows (a counter, not a repeat)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += i.to_bytes(4, "big")
        i += 1
    return bytes(out[:n])


async def test_stream_bytes_both_ways(anyio_backend: str) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            await stream.send_all(b"hello from the client")
            assert await peer_receive_exactly(peer, 21) == b"hello from the client"
            await peer.send(b"hello from the peer")
            assert await receive_exactly(stream, 19) == b"hello from the peer"
            big = pattern(300_000)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(stream.send_all, big)
                assert await peer_receive_exactly(peer, len(big)) == big


async def test_receive_some_never_returns_more_than_asked(anyio_backend: str) -> None:
    data = pattern(100_000)
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            await peer.send(data)
            first = await stream.receive_some(3)
            assert 1 <= len(first) <= 3
            rest = await receive_exactly(stream, len(data) - len(first), max_bytes=1000)
            assert first + rest == data
            # Nothing more was kept back or invented.
            await peer.send(b"end")
            assert await receive_exactly(stream, 3) == b"end"


async def test_peer_close_is_end_of_stream(anyio_backend: str) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            await peer.send(b"last words")
            await peer.aclose()
            assert await receive_exactly(stream, 10) == b"last words"
            assert await stream.receive_some(100) == b""
            assert await stream.receive_some(100) == b""  # and stays so


async def test_peer_reset_is_stream_broken(anyio_backend: str) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            await stream.send_all(b"ping")
            assert await peer_receive_exactly(peer, 4) == b"ping"
            reset(peer)
            await peer.aclose()
            with pytest.raises(StreamBroken) as broken:
                # The reset shows on the next receive, or (if that saw an end) on a send.
                if await stream.receive_some(100) == b"":
                    for _ in range(100):
                        await stream.send_all(b"x" * 1024)
            assert any(isinstance(e, ConnectionError) for e in causes(broken.value)), causes(
                broken.value
            )


async def test_closed_stream_raises_stream_broken(anyio_backend: str) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, _peer):
            await stream.aclose()
            await stream.aclose()  # idempotent, never raises
            with pytest.raises(StreamBroken):
                await stream.receive_some(100)
            with pytest.raises(StreamBroken):
                await stream.send_all(b"late")
            assert not stream.can_write_now()


async def test_write_now_keeps_order_with_send_all(anyio_backend: str) -> None:
    chunks = [bytes([65 + i]) * (1 + 997 * i) for i in range(20)]
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            assert stream.can_write_now() is True  # plain TCP, on both loops
            expected = b"".join(chunks)
            received: list[bytes] = []

            async def read_all() -> None:
                received.append(await peer_receive_exactly(peer, len(expected)))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(read_all)  # a Trio send_all waits for the peer to read
                for i, chunk in enumerate(chunks):
                    if i % 2 and stream.can_write_now():
                        stream.write_now(chunk)
                    else:
                        await stream.send_all(chunk)
            assert received == [expected]


async def test_write_now_keeps_what_a_full_socket_refused_for_the_next_send_all(
    anyio_backend: str,
) -> None:
    # The peer does not read: the socket fills up. On Trio, write_now keeps the rest (and
    # then refuses more until a send_all took it); asyncio's transport buffers it itself.
    chunk = bytes(range(256)) * 256  # 64 KiB
    with anyio.fail_after(10):
        async with connected() as (stream, peer):
            written = 0
            while stream.can_write_now() and written < 64 * len(chunk):
                stream.write_now(chunk)
                written += len(chunk)
            if anyio_backend == "trio":
                assert stream.write_pending, "64 x 64 KiB fitted in a socket nobody reads"
                with pytest.raises(RuntimeError):
                    stream.write_now(b"refused while bytes are kept")
            else:
                assert not stream.write_pending
            expected = chunk * (written // len(chunk)) + b"end"
            received: list[bytes] = []

            async def read_all() -> None:
                received.append(await peer_receive_exactly(peer, len(expected)))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(read_all)
                await stream.send_all(b"end")  # sends what write_now kept, then its own
            assert not stream.write_pending
            assert received == [expected]


async def test_trio_tls_stream_writes_only_by_awaiting(
    anyio_backend: str,
) -> None:
    if anyio_backend != "trio":
        pytest.skip("asyncio's TLS transport buffers writes like its TCP one")
    client_context, server_context = tls_contexts()
    with anyio.fail_after(5):
        async with connected(client_context, server_context) as (stream, _peer):
            assert stream.can_write_now() is False
            with pytest.raises(RuntimeError):
                stream.write_now(b"never")


async def test_refused_port_is_oserror(anyio_backend: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The message is the loop's own (Trio's names every attempt), hence no ``match``.
    with anyio.fail_after(5), pytest.raises(OSError):  # noqa: PT011
        await open_stream("127.0.0.1", port, None)


def tls_contexts(trusted: trustme.CA | None = None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(client, server) contexts, built as the engine's ``_TLS`` does; the client trusts
    ``trusted`` (default: the CA that issued the server's certificate)."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    (trusted or ca).configure_trust(client)
    return client, server


async def test_tls_bytes_both_ways(anyio_backend: str) -> None:
    client, server = tls_contexts()
    with anyio.fail_after(10):
        async with connected(client, server) as (stream, peer):
            await stream.send_all(b"secret question")
            assert await peer_receive_exactly(peer, 15) == b"secret question"
            big = pattern(200_000)
            await peer.send(big)
            assert await receive_exactly(stream, len(big), max_bytes=5000) == big
            await stream.send_all(b"thanks")
            assert await peer_receive_exactly(peer, 6) == b"thanks"


async def test_tls_with_the_wrong_ca_fails_certificate_verification(anyio_backend: str) -> None:
    client, server = tls_contexts(trusted=trustme.CA())
    with anyio.fail_after(10):
        async with listening(server) as (port, _accepted, _errors):
            with pytest.raises((OSError, StreamBroken)) as failed:
                await open_stream("127.0.0.1", port, client)
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in causes(failed.value)), causes(
        failed.value
    )


@pytest.mark.parametrize("options", [{}, {"use_uvloop": True}], ids=["asyncio", "uvloop"])
def test_asyncio_stream_pauses_above_its_high_water_mark_and_resumes(
    options: dict[str, bool],
) -> None:
    """asyncio only by nature: Trio's stream reads only when asked, it buffers nothing."""
    if options:
        pytest.importorskip("uvloop")
    total = 4 * _HIGH_WATER  # more than the stream buffers plus what one socket read takes
    data = pattern(total)

    async def main() -> None:
        with anyio.fail_after(20):
            async with connected() as (stream, peer):
                assert isinstance(stream, AsyncioStream)
                transport = stream._transport
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(peer.send, data)
                    # Nobody reads: the stream fills its buffer, then stops reading.
                    while transport.is_reading():
                        await anyio.wait_all_tasks_blocked()
                    buffered = len(stream._protocol.buffer)
                    assert _HIGH_WATER < buffered < total
                    received = bytearray()
                    resumed = False
                    while len(received) < total:
                        chunk = await stream.receive_some(65536)
                        assert chunk
                        received += chunk
                        resumed = resumed or transport.is_reading()
                    assert resumed
                assert bytes(received) == data  # every byte, in order
                assert transport.is_reading()
                await peer.aclose()
                assert await stream.receive_some(100) == b""

    anyio.run(main, backend="asyncio", backend_options=options)


async def test_aclose_from_another_task_breaks_a_blocked_receive(anyio_backend: str) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, _peer):
            async with anyio.create_task_group() as tasks:

                async def receive() -> None:
                    with pytest.raises(StreamBroken):
                        await stream.receive_some(100)

                tasks.start_soon(receive)
                await anyio.wait_all_tasks_blocked()
                await stream.aclose()


async def test_after_a_short_read_a_cancelled_receive_and_a_close_behave(
    anyio_backend: str,
) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            await peer.send(b"short")
            assert await receive_exactly(stream, 5) == b"short"  # the socket is empty now
            with anyio.CancelScope() as scope:
                scope.cancel()
                await stream.receive_some(100)
            assert scope.cancelled_caught
            await peer.send(b"more")
            assert await receive_exactly(stream, 4) == b"more"
            await stream.aclose()
            with pytest.raises(StreamBroken):
                await stream.receive_some(100)


async def test_trio_reads_once_per_wake_after_a_short_read(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An idle connection wakes for one small frame at a time: after a short read the
    # stream waits first, instead of a read that fails with EAGAIN before every wait.
    if anyio_backend != "trio":
        pytest.skip("asyncio's transport does its own reads")
    reads: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(fd)
        return real_read(fd, n)

    with anyio.fail_after(5):
        async with connected() as (stream, peer), anyio.create_task_group() as tasks:
            await peer.send(b"one")
            assert await receive_exactly(stream, 3) == b"one"
            monkeypatch.setattr(os, "read", counting_read)
            got: list[bytes] = []

            async def receive() -> None:
                got.append(bytes(await stream.receive_some(100)))

            tasks.start_soon(receive)
            await anyio.wait_all_tasks_blocked()
            assert reads == []  # parked without trying the empty socket
            await peer.send(b"two")
        assert got == [b"two"]
        assert len(reads) == 1


# Regressions: both were wrong on asyncio only (a closed stream still handed out buffered
# bytes; a send blocked by back-pressure returned normally after aclose).


async def test_closed_stream_with_unread_bytes_raises_stream_broken(anyio_backend: str) -> None:
    with anyio.fail_after(5):
        async with connected() as (stream, peer):
            await peer.send(b"abcdef")
            assert await stream.receive_some(1) == b"a"  # the rest is buffered by now
            await stream.aclose()
            with pytest.raises(StreamBroken):
                await stream.receive_some(100)


async def test_aclose_from_another_task_breaks_a_blocked_send(anyio_backend: str) -> None:
    with anyio.fail_after(10):
        async with connected() as (stream, _peer):
            outcome: list[str] = []

            async def send() -> None:
                try:
                    await stream.send_all(b"x" * (64 * 1024 * 1024))  # the peer never reads
                except StreamBroken:
                    outcome.append("broken")
                else:
                    outcome.append("returned")

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(send)
                await anyio.wait_all_tasks_blocked()
                assert outcome == []
                await stream.aclose()
            assert outcome == ["broken"]
