"""`WebSocket`: a client WebSocket over the loop's byte stream, driven by wsproto in the reader.

This is the transport seam under `SignalClient`. It has no background task: whoever calls
`WebSocket.receive` reads the socket, feeds wsproto and gets back every message the read
completed: a burst of frames in one wake-up, where a library with its own reader task
(trio-websocket) costs a task switch and a channel hop per message (``benchmarks/receive.py``).

Rules it keeps:

- one reader at a time (the receive loop, or the connect path before it starts); sends are
  serialised by a lock, so a heartbeat, a request and a pong never interleave bytes;
- control frames are answered here: a ping gets its pong, a peer's close gets its close
  reply (each bounded by ``control_timeout``);
- messages that arrived before a close frame are returned first; the close is reported by the
  next `receive` as `WebSocketClosed`;
- a message above ``max_message`` closes the socket with 1009 instead of buffering on;
- unmasked text frames up to ``FAST_FRAME_CAP`` (nearly all traffic) are read by the fast path
  of `utd_trio._protocol._ws_frames` while wsproto holds nothing, including a frame cut by
  the end of a read (kept until the next read completes it); from the first frame of any
  other kind, the rest of the read goes to wsproto, which handles everything until it is idle
  again, so frames come out in wire order and every rule above is wsproto's as before;
- where the stream offers its arrivals (asyncio; Trio over plain TCP), `receive_inline` hands
  whole fast frames to a sink before the waiting `receive` wakes, in wire order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, cast

import anyio
import wsproto
from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.utilities import LocalProtocolError

from .._backend import ByteStream, StreamBroken
from .._protocol._ws_encode import encode_text_frame
from .._protocol._ws_frames import FAST_FRAME_CAP, TextFrameReader, wsproto_idle
from ._ws_errors import CLOSE_ABNORMAL, HandshakeRejected, WebSocketClosed
from ._ws_handshake import upgrade

__all__ = ["HandshakeRejected", "WebSocket", "WebSocketClosed"]

log = logging.getLogger("utd_trio.websocket")

CLOSE_TOO_BIG: Final = 1009
_MESSAGES: Final = (TextMessage, BytesMessage)


class WebSocket:
    """One client WebSocket connection. Make one with `WebSocket.connect`."""

    def __init__(
        self,
        stream: ByteStream,
        *,
        max_message: int,
        receive_buffer: int,
        control_timeout: float,
        fast_path: bool = True,
    ) -> None:
        self._stream = stream
        self._fast_path = fast_path
        # The handshake's h11 machinery until the upgrade is accepted, then the frame-level
        # `Connection` it made while that holds anything, else None: an open connection
        # that holds nothing is what a fresh `Connection` is, made again when a frame needs
        # wsproto (`_wsproto`). An idle socket keeps none of it (~4 KiB).
        self._proto: wsproto.WSConnection | Connection | None = wsproto.WSConnection(
            wsproto.ConnectionType.CLIENT
        )
        self._max_message = max_message
        self._receive_buffer = receive_buffer
        self._control_timeout = control_timeout
        self._send_lock: anyio.Lock | None = None  # made by the first send that must await
        self._parts: list[str | bytes] = []
        self._part_size = 0
        self._pending: list[str | bytes] = []
        self._closed: WebSocketClosed | None = None
        # Text frames no bigger than the guard: one is never above it in characters.
        self._fast = TextFrameReader(min(max_message, FAST_FRAME_CAP))
        self._sink: Callable[[list[str | bytes]], None] | None = None
        self.fast_messages = 0
        """How many messages the fast path read (for tests and benchmarks)."""

    def __repr__(self) -> str:
        return f"<WebSocket {self._state().name.lower()}>"

    def _state(self) -> ConnectionState:
        return ConnectionState.OPEN if self._proto is None else self._proto.state

    def _wsproto(self) -> wsproto.WSConnection | Connection:
        """Wsproto's connection, made again (open, empty) if it was let go while idle."""
        if self._proto is None:
            self._proto = Connection(wsproto.ConnectionType.CLIENT)
        return self._proto

    @classmethod
    async def connect(
        cls,
        stream: ByteStream,
        host: str,
        resource: str,
        *,
        max_message: int,
        receive_buffer: int,
        control_timeout: float,
        fast_path: bool = True,
    ) -> WebSocket:
        """Run the opening handshake on ``stream`` and return the open connection.

        ``fast_path=False`` leaves every frame to wsproto (the reference the differential
        tests compare the fast path with).

        Raises:
            HandshakeRejected: the server answered with an HTTP status other than 101.
            UTDStreamError: NETWORK when the stream broke or the server spoke no WebSocket.
        """
        ws = cls(
            stream,
            max_message=max_message,
            receive_buffer=receive_buffer,
            control_timeout=control_timeout,
            fast_path=fast_path,
        )
        await ws._handshake(host, resource)
        return ws

    # --- reading -----------------------------------------------------------------------

    async def receive(self) -> list[str | bytes]:
        """Read once; return the messages completed so far (possibly none).

        Raises:
            WebSocketClosed: the connection has ended (after its last messages were returned).
        """
        if self._pending:
            pending, self._pending = self._pending, []
            return pending
        if self._closed is not None:
            raise self._closed
        data = await self._read()
        if data is None:
            raise self._closed_with(CLOSE_ABNORMAL, "connection lost without a close frame")
        if self._fast_path and (self._fast.holding or self._wsproto_free()):
            messages, rest = self._feed_fast(data)
            if not rest:
                return messages
            # A held frame with bad UTF-8 comes back as its reads: wsproto sees them as it
            # would have (their events are its fragments, no message, no close).
            for earlier in rest[:-1]:
                self._wsproto().receive_data(earlier)
                await self._take_events(messages)
            self._wsproto().receive_data(rest[-1])
            return await self._take_events(messages)
        self._wsproto().receive_data(data)
        return await self._take_events()

    def receive_inline(self, sink: Callable[[list[str | bytes]], None] | None) -> bool:
        """Hand messages to ``sink`` where they arrive, when the stream allows it.

        While a `receive` waits, with nothing held or pending before it, each read goes
        through the fast path in the stream's callback: its whole fast frames go to
        ``sink``, a fast frame it cuts is held, and only the rest of the read (from the
        first frame of another kind: fragments, control frames, close) wakes the `receive`.
        A read that continues a held frame is left to `receive`. So the sink and the
        callers of `receive` together see every message once, in wire order, and no byte is
        parsed twice. ``sink`` must not block; if it raises, the waiting `receive` raises it.

        Returns False, and never calls ``sink``, on a stream that delivers only by reading
        (Trio over TLS) or with the fast path off. None removes the sink.
        """
        if not self._fast_path:
            return False
        self._sink = sink
        return self._stream.offer_arrivals(None if sink is None else self._arrived)

    def _arrived(self, data: bytes) -> bytes:
        """The stream's offer (`receive_inline`): the tail of ``data`` left to `receive`."""
        sink = self._sink
        if (
            sink is None
            or self._pending
            or self._closed is not None
            or self._fast.holding  # its replay to wsproto may take several reads
            or not self._wsproto_free()
        ):
            return data
        messages, rest = self._feed_fast(data)
        # Holding nothing before, the fast path leaves at most one piece: a tail of ``data``.
        if messages:
            sink(messages)
        return rest[0] if rest else b""

    def _wsproto_free(self) -> bool:
        """True when wsproto holds nothing (or was let go): the fast path may read."""
        proto = self._proto
        return proto is None or wsproto_idle(proto)

    def _feed_fast(self, data: bytes) -> tuple[list[str | bytes], tuple[bytes, ...]]:
        """The fast path's messages of ``data`` (counted), and the reads left to wsproto."""
        texts, rest = self._fast.feed(data)
        self.fast_messages += len(texts)
        return cast("list[str | bytes]", texts), rest

    async def _read(self) -> bytes | None:
        """One read; None at end of stream or when the stream broke."""
        try:
            data = await self._stream.receive_some(self._receive_buffer)
        except StreamBroken:
            return None
        if not data:
            return None
        return data if isinstance(data, bytes) else bytes(data)

    async def _take_events(self, messages: list[str | bytes] | None = None) -> list[str | bytes]:
        """Drain wsproto's events after ``messages`` (those the fast path read before them)."""
        if messages is None:
            messages = []
        for event in self._wsproto().events():
            if isinstance(event, _MESSAGES):
                data = event.data
                if event.message_finished and not self._parts:
                    if len(data) > self._max_message:
                        await self._refuse_too_big()
                        break
                    messages.append(data if isinstance(data, str | bytes) else bytes(data))
                elif not await self._add_part(event, messages):
                    break
            elif isinstance(event, Ping):
                await self._send_control(event.response())
            elif isinstance(event, CloseConnection):
                await self._peer_closed(event)
                break
        return messages

    async def _add_part(
        self, event: TextMessage | BytesMessage, messages: list[str | bytes]
    ) -> bool:
        """Buffer one fragment; False when the message grew too big (the socket is closing)."""
        data = event.data
        self._parts.append(data if isinstance(data, str | bytes) else bytes(data))
        self._part_size += len(data)
        if self._part_size > self._max_message:
            await self._refuse_too_big()
            return False
        if event.message_finished:
            parts, self._parts, self._part_size = self._parts, [], 0
            if isinstance(event, TextMessage):
                messages.append("".join(cast("list[str]", parts)))
            else:
                messages.append(b"".join(cast("list[bytes]", parts)))
        return True

    async def _refuse_too_big(self) -> None:
        self._parts, self._part_size = [], 0
        closed = self._closed_with(CLOSE_TOO_BIG, f"message larger than {self._max_message} bytes")
        await self._send_control(CloseConnection(CLOSE_TOO_BIG, closed.reason))
        await self.abort()

    async def _peer_closed(self, event: CloseConnection) -> None:
        reason = event.reason or ""
        self._closed_with(int(event.code), reason)
        state = self._state()
        if state is ConnectionState.REMOTE_CLOSING:
            await self._send_control(event.response())
        elif state is ConnectionState.OPEN:
            # wsproto reports an unparsable frame as a close event without sending one.
            await self._send_control(CloseConnection(int(event.code), reason))
        await self.abort()

    def _closed_with(self, code: int, reason: str) -> WebSocketClosed:
        if self._closed is None:
            log.debug("websocket closed: %d %s", code, reason)
            self._closed = WebSocketClosed(code, reason)
        return self._closed

    # --- writing -----------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        """Send one text message. The caller bounds the time (the peer may stop reading).

        Raises:
            WebSocketClosed: the connection has ended or is closing.
        """
        await self._send(text)

    def send_text_now(self, text: str) -> bool:
        """Send one text message without waiting, if the stream takes it at once.

        False (nothing sent) when another send holds the lock or the stream would have to
        wait (TLS on Trio, back-pressure on asyncio): use `send_text` then. With nothing to
        await there is no half-written frame to fear, so the caller needs no shield or
        deadline — unless `write_pending` is then True (the socket took part of the frame):
        the rest must follow with `flush`.

        Raises:
            WebSocketClosed: the connection has ended or is closing.
        """
        lock = self._send_lock
        if (lock is not None and lock.locked()) or not self._stream.can_write_now():
            return False
        data = self._encode(text)
        try:
            self._stream.write_now(data)
        except StreamBroken:
            raise self._closed_with(CLOSE_ABNORMAL, "connection lost while sending") from None
        return True

    @property
    def write_pending(self) -> bool:
        """True while `send_text_now` left part of a frame for `flush` to send."""
        return self._stream.write_pending

    async def flush(self) -> None:
        """Send what `send_text_now` left (nothing to do if another send took it already).

        Raises:
            WebSocketClosed: the connection has ended.
        """
        await self._send(None)

    async def send_close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake (no-op when it has begun); the reader sees the reply."""
        if self._state() is ConnectionState.OPEN:
            log.debug("websocket closing: %d %s", code, reason)
            try:
                await self._send(CloseConnection(code, reason))
            except WebSocketClosed:
                return

    def _encode(self, event: str | CloseConnection | Pong) -> bytes:
        """The bytes of ``event``; only a close frame may still go out once closed.

        A ``str`` is a text message: one final masked frame (`encode_text_frame`, without
        wsproto's per-frame machinery or even its event object; the socket never sends
        fragments). Control frames are wsproto's.
        """
        if self._closed is not None and not isinstance(event, CloseConnection):
            raise self._closed
        if isinstance(event, str):
            if self._state() is not ConnectionState.OPEN:
                # Our close frame is out; the reader still waits for the peer's reply.
                raise WebSocketClosed(CLOSE_ABNORMAL, "connection is closing")
            return encode_text_frame(event)
        try:
            return self._wsproto().send(event)
        except LocalProtocolError:
            # Our close frame is out; the reader still waits for the peer's reply.
            raise WebSocketClosed(CLOSE_ABNORMAL, "connection is closing") from None

    async def _send(self, event: str | CloseConnection | Pong | None) -> None:
        """Write ``event``'s frame under the lock (a ``str``: a text message).

        None writes only what `write_now` kept back.
        """
        lock = self._send_lock
        if lock is None:
            lock = self._send_lock = anyio.Lock()
        try:
            lock.acquire_nowait()
        except anyio.WouldBlock:
            await lock.acquire()
        try:
            data = b"" if event is None else self._encode(event)
            try:
                await self._stream.send_all(data)
            except StreamBroken:
                raise self._closed_with(CLOSE_ABNORMAL, "connection lost while sending") from None
            except BaseException:
                # Cancelled mid-write: the frame may be cut, so nothing more may follow it.
                self._closed_with(CLOSE_ABNORMAL, "a send was interrupted")
                raise
        finally:
            lock.release()

    async def _send_control(self, event: CloseConnection | Pong) -> None:
        """Best-effort control frame; a peer that does not read gets ``control_timeout``."""
        with anyio.move_on_after(self._control_timeout):
            try:
                await self._send(event)
            except WebSocketClosed:
                return

    async def abort(self) -> None:
        """Close the stream now, without (more of) a closing handshake."""
        self._closed_with(CLOSE_ABNORMAL, "connection closed")
        await self._stream.aclose()

    # --- opening handshake -------------------------------------------------------------

    async def _handshake(self, host: str, resource: str) -> None:
        handshake = self._proto
        assert isinstance(handshake, wsproto.WSConnection)  # as made by __init__
        self._proto = await upgrade(handshake, self._stream, self._read, host, resource)
        # Frames that came with the 101 are already parsed; keep them.
        self._pending = await self._take_events()
        if self._wsproto_free():
            self._proto = None
