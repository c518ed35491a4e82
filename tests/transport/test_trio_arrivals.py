"""`ArrivalPoller`: on Trio, a waiting reader's bytes go to its sink first, read by one task.

Real loopback sockets under Trio's own stream (`open_stream`); the sink stands in for the
WebSocket layer: it takes what it is given and says what it leaves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from utd_trio._backend import StreamBroken, open_stream
from utd_trio._backend._streams_base import ByteStream
from utd_trio._backend._trio_arrivals import arrival_poller, available

IO = 10

pytestmark = pytest.mark.skipif(not available, reason="the arrival poller needs select.epoll")


@asynccontextmanager
async def connected() -> AsyncIterator[tuple[ByteStream, trio.SocketStream]]:
    """Our stream to a loopback listener, and the accepted peer."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    async with listeners[0]:
        stream = await open_stream("127.0.0.1", port, None)
        peer = await listeners[0].accept()
        try:
            yield stream, peer
        finally:
            await stream.aclose()
            await peer.aclose()


class Sink:
    """Takes all it is offered, except what starts with ``leave``: that comes back whole."""

    def __init__(self, leave: bytes = b"!") -> None:
        self.taken: list[bytes] = []
        self.leave = leave
        self.grew = trio.Event()

    def __call__(self, data: bytes) -> bytes:
        if data.startswith(self.leave):
            return data
        self.taken.append(data)
        self.grew.set()
        self.grew = trio.Event()
        return b""


async def park_read(stream: ByteStream, nursery: trio.Nursery) -> list[bytes | Exception]:
    """Start one read of ``stream`` in ``nursery`` and let it block; the list gets its outcome:
    the bytes it returned, or the `StreamBroken` / `LookupError` it raised."""
    outcome: list[bytes | Exception] = []

    async def read() -> None:
        try:
            outcome.append(bytes(await stream.receive_some(65536)))
        except (StreamBroken, LookupError) as exc:
            outcome.append(exc)

    nursery.start_soon(read)
    await trio.testing.wait_all_tasks_blocked()
    return outcome


def messages(outcome: list[bytes | Exception]) -> list[str]:
    """The errors of ``outcome`` as their type and text."""
    return [f"{type(e).__name__}: {e}" for e in outcome if isinstance(e, Exception)]


async def test_arrivals_the_sink_takes_never_wake_the_reader_and_what_it_leaves_does() -> None:
    with trio.fail_after(IO):
        async with connected() as (stream, peer), trio.open_nursery() as nursery:
            sink = Sink()
            assert stream.offer_arrivals(sink)
            read = await park_read(stream, nursery)
            assert arrival_poller().waiting == 1
            for chunk in (b"one", b"two"):
                grew = sink.grew
                await peer.send_all(chunk)
                await grew.wait()
            await trio.testing.wait_all_tasks_blocked()
            assert sink.taken == [b"one", b"two"]
            assert read == []  # still waiting: nothing came back to it
            await peer.send_all(b"!rest")
        assert read == [b"!rest"]
        assert arrival_poller().waiting == 0


async def test_a_cancelled_reader_leaves_the_set_and_its_bytes_wait_for_the_next_read() -> None:
    with trio.fail_after(IO):
        async with connected() as (stream, peer):
            sink = Sink()
            stream.offer_arrivals(sink)
            with trio.move_on_after(0.01):
                await stream.receive_some(65536)
            assert arrival_poller().waiting == 0
            await peer.send_all(b"later")
            await trio.testing.wait_all_tasks_blocked()
            assert sink.taken == []  # nobody waited: the poller did not read it
            stream.offer_arrivals(None)
            assert await stream.receive_some(65536) == b"later"


@pytest.mark.parametrize("sink_removed", [False, True], ids=["with_sink", "sink_removed"])
async def test_closing_the_stream_wakes_its_waiting_reader_with_stream_broken(
    sink_removed: bool,
) -> None:
    with trio.fail_after(IO):
        async with connected() as (stream, _peer), trio.open_nursery() as nursery:
            stream.offer_arrivals(Sink())
            read = await park_read(stream, nursery)
            if sink_removed:  # the poller keeps the waiting read, and a close still wakes it
                stream.offer_arrivals(None)
            await stream.aclose()
        assert messages(read) == ["StreamBroken: stream closed"]


async def test_a_sink_removed_while_its_read_waits_is_not_called_again() -> None:
    with trio.fail_after(IO):
        async with connected() as (stream, peer), trio.open_nursery() as nursery:
            sink = Sink()
            stream.offer_arrivals(sink)
            read = await park_read(stream, nursery)
            stream.offer_arrivals(None)  # the last sink: the poller stays for the waiting read
            await trio.testing.wait_all_tasks_blocked()
            await peer.send_all(b"whole")
        assert read == [b"whole"]
        assert sink.taken == []


async def test_the_end_of_the_stream_reaches_the_reader() -> None:
    with trio.fail_after(IO):
        async with connected() as (stream, peer), trio.open_nursery() as nursery:
            stream.offer_arrivals(Sink())
            read = await park_read(stream, nursery)
            await peer.aclose()
        assert read == [b""]


async def test_the_sinks_exception_is_raised_by_the_waiting_read_and_the_poller_lives_on() -> None:
    def broken(data: bytes) -> bytes:
        raise LookupError(f"sink failed on {data!r}")

    with trio.fail_after(IO):
        async with connected() as (first, peer1), connected() as (second, peer2):
            first.offer_arrivals(broken)
            second.offer_arrivals(Sink(leave=b""))  # leaves everything: a plain read
            async with trio.open_nursery() as nursery:
                read = await park_read(first, nursery)
                await peer1.send_all(b"x")
            assert messages(read) == ["LookupError: sink failed on b'x'"]
            await peer2.send_all(b"y")
            assert await second.receive_some(65536) == b"y"


async def test_a_read_takes_at_most_max_bytes() -> None:
    with trio.fail_after(IO):
        async with connected() as (stream, peer):
            stream.offer_arrivals(Sink(leave=b"a"))
            await peer.send_all(b"a" * 10)
            await trio.testing.wait_all_tasks_blocked()
            data = b""
            while len(data) < 10:
                chunk = await stream.receive_some(4)
                assert 0 < len(chunk) <= 4
                data += chunk
            assert data == b"a" * 10


async def test_the_poller_task_runs_only_while_a_stream_has_a_sink() -> None:
    def poller_tasks() -> int:
        root = trio.lowlevel.current_root_task()
        assert root is not None
        return sum(
            task.name == "utd_trio arrival poller"
            for nursery in root.child_nurseries
            for task in nursery.child_tasks
        )

    with trio.fail_after(IO):
        async with connected() as (first, _p1), connected() as (second, _p2):
            assert poller_tasks() == 0
            first.offer_arrivals(Sink())
            second.offer_arrivals(Sink())
            await trio.testing.wait_all_tasks_blocked()
            assert poller_tasks() == 1
            first.offer_arrivals(None)
            await trio.testing.wait_all_tasks_blocked()
            assert poller_tasks() == 1
            await second.aclose()  # closing detaches too
            await trio.testing.wait_all_tasks_blocked()
            assert poller_tasks() == 0
            first.offer_arrivals(Sink())  # and it starts again
            await trio.testing.wait_all_tasks_blocked()
            assert poller_tasks() == 1
            first.offer_arrivals(None)
            await trio.testing.wait_all_tasks_blocked()
            assert poller_tasks() == 0


async def test_tls_streams_decline_the_sink() -> None:
    # trio.SSLStream decrypts in the reader's task: there are no raw arrivals to offer.
    import ssl

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with trio.fail_after(IO):
        listeners = await trio.open_ssl_over_tcp_listeners(
            0, server_context, host="127.0.0.1", https_compatible=True
        )
        port = listeners[0].transport_listener.socket.getsockname()[1]
        async with listeners[0], trio.open_nursery() as nursery:

            async def accept() -> None:
                peer = await listeners[0].accept()
                await peer.do_handshake()
                await peer.aclose()

            nursery.start_soon(accept)
            stream = await open_stream("127.0.0.1", port, client_context)
            try:
                assert stream.offer_arrivals(Sink()) is False
            finally:
                await stream.aclose()
