"""`open_stream`: the TCP (+TLS) byte stream under a WebSocket, native to the running loop.

Both kinds of stream have the same small surface (`ByteStream`): ``receive_some`` returns
``b""`` at the end of the stream, ``send_all`` writes everything, ``aclose`` closes at once
(no TLS goodbye: the WebSocket has its own closing handshake), and any failure of the
connection is a `StreamBroken` whose ``__cause__`` is what the loop raised.

On Trio the stream is ``trio.SocketStream`` (``trio.SSLStream`` over it for TLS), exactly what
the library used before it ran on asyncio too; on asyncio it is `AsyncioStream`, straight on
an asyncio transport (``_asyncio_stream.py`` says why not anyio's). Opening fails with the
`OSError` of the dial (refused, unreachable, bad certificate) or a `StreamBroken` whose cause
says why the TLS handshake broke.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable

import trio

from ._asyncio_stream import open_asyncio_stream
from ._select import current_backend
from ._streams_base import ByteStream, StreamBroken
from ._trio_arrivals import ArrivalPoller, arrival_poller
from ._trio_arrivals import available as _poller_available

__all__ = ["open_stream"]


class _TrioStream:
    """A Trio stream; over plain TCP it can also write without awaiting (`write_now`).

    ``write_now`` is one ``os.write`` on the socket's descriptor (Trio's sockets are
    non-blocking): an idle connection's ping or a request frame goes out with no task
    switch and no cancel scope. The descriptor is asked of the socket at every write, never
    kept, so a closed stream (descriptor -1) can never write into a reused number.

    Over plain TCP it also offers arrivals to a sink (`offer_arrivals`): while its reader
    waits, the run's `ArrivalPoller` reads the socket.
    """

    __slots__ = ("_drained", "_poller", "_sink", "_socket", "_stream", "_tail")

    def __init__(self, stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]) -> None:
        self._stream = stream
        # Plain TCP only: TLS records are written by trio.SSLStream, by awaiting.
        self._socket = stream.socket if isinstance(stream, trio.SocketStream) else None
        self._tail = b""
        self._drained = False  # the last read was short: the socket is probably empty
        # `offer_arrivals`: attached to the poller exactly while there is a sink. The poller
        # is kept once used: a read may still wait there after the sink is gone.
        self._sink: Callable[[bytes], bytes] | None = None
        self._poller: ArrivalPoller | None = None

    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        if self._socket is not None:
            return await self._receive_tcp(self._socket, max_bytes)
        try:
            return await self._stream.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise StreamBroken(str(exc)) from exc

    async def _receive_tcp(self, sock: trio.socket.SocketType, max_bytes: int) -> bytes:
        """`trio.SocketStream.receive_some` without its layers: one read, or wait and read.

        The same checkpoints as Trio's (cancellation is checked first; a read that did not
        wait still yields once), without the context managers Trio's socket layer makes per
        call: the idle connection's reader costs less per wake-up and less while parked.
        After a short read the socket is most likely empty, so it waits first instead of
        trying a read that fails (a system call and an exception per idle wake-up); the wait
        is the checkpoint then.
        """
        if not self._drained:
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                data = os.read(self._fileno(sock), max_bytes)
            except BlockingIOError:
                pass
            except OSError as exc:
                raise StreamBroken(str(exc)) from exc
            else:
                self._drained = len(data) < max_bytes
                await trio.lowlevel.cancel_shielded_checkpoint()
                return data
        if self._sink is not None and self._poller is not None:
            # Arrivals go to the sink while we wait (`offer_arrivals`); what it leaves, or
            # the end of the stream, comes back here. The next read waits there again: if
            # more is already in the socket, the poller's level-triggered set finds it.
            self._drained = True
            return await self._poller.wait(self._fileno(sock), self, max_bytes)
        while True:
            try:
                # Closed: a StreamBroken, not Trio's ValueError for -1. The number is only
                # waited on: a close in the meantime wakes the wait (ClosedResourceError).
                await trio.lowlevel.wait_readable(self._fileno(sock))
                data = os.read(self._fileno(sock), max_bytes)
            except BlockingIOError:
                continue
            except (OSError, trio.ClosedResourceError) as exc:
                raise StreamBroken(str(exc)) from exc
            self._drained = len(data) < max_bytes
            return data

    @staticmethod
    def _fileno(sock: trio.socket.SocketType) -> int:
        fd = sock.fileno()
        if fd < 0:  # closed (by our own aclose, maybe from another task)
            raise StreamBroken("stream closed")
        return fd

    async def send_all(self, data: bytes) -> None:
        if self._tail:
            data, self._tail = self._tail + data, b""
        try:
            await self._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise StreamBroken(str(exc)) from exc

    def offer_arrivals(self, sink: Callable[[bytes], bytes] | None) -> bool:
        # Plain TCP only: TLS records are decrypted by trio.SSLStream, in the reader's task.
        if self._socket is None or not _poller_available:
            return False
        if sink is None:
            self._detach()
            return True
        if self._sink is None:
            if self._poller is None:
                self._poller = arrival_poller()
            self._poller.attach()
        self._sink = sink
        return True

    @property
    def arrival_sink(self) -> Callable[[bytes], bytes] | None:
        """The sink of `offer_arrivals` now (the `ArrivalPoller` asks at every arrival)."""
        return self._sink

    def _detach(self) -> None:
        if self._sink is not None and self._poller is not None:
            self._poller.detach()
        self._sink = None

    def can_write_now(self) -> bool:
        return self._socket is not None and not self._tail and self._socket.fileno() >= 0

    def write_now(self, data: bytes) -> None:
        if self._socket is None or self._tail:
            raise RuntimeError("write_now needs an idle plain-TCP stream (see can_write_now)")
        try:
            written = os.write(self._fileno(self._socket), data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            raise StreamBroken(str(exc)) from exc
        if written < len(data):
            self._tail = data[written:]

    @property
    def write_pending(self) -> bool:
        return bool(self._tail)

    async def aclose(self) -> None:
        if self._poller is not None and self._socket is not None:
            fd = self._socket.fileno()
            if fd >= 0:
                self._poller.closing(fd)  # as Trio's notify_closing does for its own waits
            self._detach()
        await trio.aclose_forcefully(self._stream)


async def open_stream(host: str, port: int, ssl_context: ssl.SSLContext | None) -> ByteStream:
    """Connect to ``host:port``; with ``ssl_context``, also run the TLS handshake.

    Raises:
        OSError: the dial failed (refused, unreachable, certificate rejected).
        StreamBroken: the TLS handshake broke (its ``__cause__`` says why).
    """
    if current_backend() == "trio":
        return await _open_trio(host, port, ssl_context)
    return await _open_asyncio(host, port, ssl_context)


async def _open_trio(host: str, port: int, ssl_context: ssl.SSLContext | None) -> ByteStream:
    if ssl_context is None:
        return _TrioStream(await trio.open_tcp_stream(host, port))
    stream = await trio.open_ssl_over_tcp_stream(
        host, port, ssl_context=ssl_context, https_compatible=True
    )
    # Handshake here, not lazily on the first write: a bad certificate is then reported
    # as such, before any WebSocket bytes are involved.
    try:
        await stream.do_handshake()
    except trio.BrokenResourceError as exc:
        await trio.aclose_forcefully(stream)
        raise StreamBroken(str(exc.__cause__ or exc)) from exc
    return _TrioStream(stream)


async def _open_asyncio(host: str, port: int, ssl_context: ssl.SSLContext | None) -> ByteStream:
    return await open_asyncio_stream(host, port, ssl_context)
