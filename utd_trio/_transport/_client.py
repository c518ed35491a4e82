"""`SignalClient`: one WebSocket connection to the engine.

One task serves it (the receive loop) in the task group of `open_signal_client`, which waited
for ``connection.established``; its timers are the loop's `HeartbeatHub`. It correlates requests
with replies by ``ref``, and never lets a slow consumer, a stalled peer or a cancelled caller
stall or corrupt the socket:

- the receive loop itself reads the socket (`WebSocket.receive`: every message one read
  completed), decodes each frame and hands it to a synchronous callback, so it never waits
  on anyone and pays one wake-up per burst, not per message;
- a frame goes out at once when the stream takes it without waiting (asyncio; Trio over plain
  TCP); otherwise the send runs shielded with its own deadline: a caller's cancellation cannot
  cut a frame in half, and a peer that stops reading kills the connection instead of hanging it;
- the hub calls `_on_beat` when a ping is due (written at once where the stream allows it, else
  by a short task of the connection's own) and when the peer may have gone silent: a socket
  silent for ``heartbeat_interval + heartbeat_timeout`` is declared dead, and the hub cancels
  the reader, which drops the socket. An idle connection has no task awake and no deadline of
  its own: its ping and its pong are one hub call and one read.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from .._backend import Latch, TaskGroup, Waiter, current_clock
from .._errors import ErrorCode, UTDStreamError
from .._protocol import _vocab as v
from .._protocol._codec import Frame
from .._protocol._connection import (
    CloseInfo,
    ConnectionMachine,
    ConnectionStats,
    Hello,
    Reply,
)
from ._heartbeats import Beat, heartbeat_hub
from ._websocket import WebSocket, WebSocketClosed

__all__ = ["CloseInfo", "ConnectionStats", "Hello", "SignalClient"]

log = logging.getLogger("utd_trio.client")

OnReply = Callable[[dict[str, Any] | None, UTDStreamError | None], None]
"""Called with a request's reply where it arrived: (ack data, None) or (None, error)."""


@dataclass(eq=False, slots=True)
class _Pending:
    on_reply: OnReply | None = None
    done: Waiter = field(default_factory=Waiter)
    data: dict[str, Any] | None = None
    error: UTDStreamError | None = None


class SignalClient:
    """One open WebSocket connection. Use `open_signal_client` to make one.

    The protocol decisions (refs, replies, liveness, pings) are made by a sans-IO
    `ConnectionMachine`; this class moves the bytes, runs the timers and wakes the waiters.

    Attributes:
        hello: the engine's hello frame.
        stats: counters of frames received, sent and dropped.
    """

    __slots__ = (
        "_beat",
        "_closed",
        "_heartbeat_timeout",
        "_now",
        "_on_frame",
        "_proto",
        "_reader_done",
        "_reader_scope",
        "_request_timeout",
        "_silent",
        "_tasks",
        "_waiters",
        "_ws",
        "hello",
        "stats",
    )

    def __init__(
        self,
        ws: WebSocket,
        hello: Hello,
        *,
        on_frame: Callable[[Frame], None],
        request_timeout: float,
        heartbeat_timeout: float,
        stats: ConnectionStats,
        tasks: TaskGroup,
    ) -> None:
        self._ws = ws
        self._tasks = tasks  # the connection's own: a ping that must wait is sent there
        self.hello = hello
        self.stats = stats
        self._on_frame = on_frame
        self._request_timeout = request_timeout
        self._heartbeat_timeout = heartbeat_timeout
        self._now = current_clock()
        self._proto = ConnectionMachine(
            hello, heartbeat_timeout=heartbeat_timeout, now=self._now(), stats=stats
        )
        self._waiters: dict[str, _Pending] = {}
        self._closed = Latch()
        self._reader_done = Latch()
        self._beat: Beat | None = None
        self._reader_scope: anyio.CancelScope | None = None
        self._silent: str | None = None  # why the hub declared the peer dead

    def __repr__(self) -> str:
        state = "closed" if self.is_closed else "open"
        return f"<SignalClient socket_id={self.hello.socket_id!r} {state}>"

    # --- public ------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """True once the connection has ended, for whatever reason."""
        return self._proto.close_info is not None

    @property
    def close_info(self) -> CloseInfo | None:
        """How the connection ended, once it has."""
        return self._proto.close_info

    @property
    def last_seen(self) -> float:
        """Loop time (``anyio.current_time()``) of the last inbound frame (proof of life)."""
        return self._proto.last_seen

    @property
    def alive(self) -> bool:
        """True while open and heard from within the heartbeat window."""
        return self._proto.alive(self._now())

    async def wait_closed(self) -> CloseInfo:
        """Wait until the connection ends; return how it ended."""
        await self._closed.wait()
        info = self._proto.close_info
        assert info is not None
        return info

    async def request(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        on_reply: OnReply | None = None,
    ) -> dict[str, Any]:
        """Send a request and wait for its ``ack``; return the ack's data.

        ``on_reply``, if given, is called with the ack's data and None, or None and the
        classified error, in the receive loop — in order with the events around it, before
        this call returns: for state that must see a reply where it arrived (e.g. a presence
        snapshot against live updates). It must not block or raise.

        Raises:
            UTDStreamError: the classified ``error`` reply; TIMEOUT when no reply came within
                ``timeout`` (default: the client's request timeout); NETWORK when the
                connection ended before the reply; INVALID when the frame cannot be sent.
        """
        ref, text = self._proto.request(event, data)
        slot = self._waiters[ref] = _Pending(on_reply)
        limit = self._request_timeout if timeout is None else timeout
        deadline = self._now() + limit
        try:
            # The send is shielded and bounded on its own (see `_send`); the wait for the
            # reply has what is left of the request's time.
            await self._send(text)
            replied = await slot.done.wait(max(deadline - self._now(), 0.0))
        finally:
            del self._waiters[ref]
            self._proto.forget(ref)
        if not replied:
            raise UTDStreamError(ErrorCode.TIMEOUT, f"{event}: no reply within {limit:g} s")
        if slot.error is not None:
            raise slot.error
        return slot.data or {}

    def start_soon(self, func: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start ``func()`` as a task of this connection; it ends with the connection.

        The task is cancelled when the connection is closed (right after its close
        handshake), so nothing it does outlives the socket.

        Raises:
            RuntimeError: the connection's block has been left.
        """
        self._tasks.start_soon(func)

    async def send(self, event: str, data: Mapping[str, Any] | None = None) -> None:
        """Send a frame without waiting for a reply (it still carries a fresh ``ref``)."""
        await self._send(self._proto.frame(event, data))

    async def aclose(self, code: int = v.CLOSE_NORMAL, reason: str = "") -> None:
        """Close the WebSocket with ``code``; forcefully if the close handshake stalls.

        The receive loop reads the engine's close reply. Bounded by the heartbeat timeout;
        callers that need a tighter bound wrap it.
        """
        self._finish(CloseInfo(code, reason or "closed by client", by_client=True))
        with anyio.move_on_after(self._heartbeat_timeout):
            await self._ws.send_close(code, reason)
            await self._reader_done.wait()
        await self._ws.abort()

    # --- internals ---------------------------------------------------------------------

    def _finish(self, info: CloseInfo) -> None:
        if self._beat is not None:
            self._beat.cancel()
        ended = self._proto.end(info)
        if ended is None:
            return
        refs, error = ended
        for ref in refs:
            slot = self._waiters.get(ref)
            if slot is not None and not slot.done.is_set():
                slot.error = error
                slot.done.set()
        self._closed.set()

    async def _kill(self, reason: str) -> None:
        """Declare the connection dead and drop the TCP stream without a handshake."""
        self._finish(CloseInfo(None, reason))
        await self._ws.abort()

    async def _send(self, text: str) -> None:
        info = self._proto.close_info
        if info is not None:
            raise UTDStreamError(ErrorCode.NETWORK, "connection is closed", status=info.code)
        ws = self._ws
        try:
            if ws.send_text_now(text):  # the stream took it: written, no await
                self._proto.sent()
                if ws.write_pending:  # the socket took part of it: the rest must follow
                    await self._write(None)
                return
        except WebSocketClosed as exc:
            raise self._closed_while_sending(exc) from None
        await self._write(text)
        self._proto.sent()

    async def _write(self, text: str | None) -> None:
        """Write ``text`` (None: what `send_text_now` left), shielded and bounded."""
        # Shielded: a cancelled caller must not leave half a frame on the wire. Bounded: a
        # peer that stops reading kills this connection rather than hanging the sender. One
        # scope does both (a shield keeps outer cancellation out, not the scope's own deadline).
        deadline = self._now() + self._heartbeat_timeout
        with anyio.CancelScope(deadline=deadline, shield=True) as scope:
            try:
                if text is None:
                    await self._ws.flush()
                else:
                    await self._ws.send_text(text)
            except WebSocketClosed as exc:
                raise self._closed_while_sending(exc) from None
        if scope.cancelled_caught:
            with anyio.CancelScope(shield=True):
                await self._kill("send stalled: the engine stopped reading")
            raise UTDStreamError(ErrorCode.NETWORK, "send stalled; connection dropped")

    def _closed_while_sending(self, exc: WebSocketClosed) -> UTDStreamError:
        # Mark the client closed now, not when the receive loop notices: callers decide on
        # a resend by `is_closed`.
        self._finish(CloseInfo(exc.code, f"connection closed while sending: {exc.reason}"))
        return UTDStreamError(ErrorCode.NETWORK, "connection is closed", status=exc.code)

    async def _receive_loop(self, initial: list[str | bytes], scope: anyio.CancelScope) -> None:
        """Read until the connection ends, inside ``scope``; start the heartbeat first.

        ``scope`` is shielded by the owner: outer cancellation must not stop the reader
        before the close handshake it is part of has finished; the owner cancels it after.
        The hub cancels it too when the peer went silent (`_on_beat`): then the reader drops
        the socket. ``initial`` are the messages that arrived with the hello.
        """
        self._reader_scope = scope
        proto = self._proto
        self._beat = heartbeat_hub().add(self._on_beat, min(proto.next_ping(), proto.dead_at))
        with scope:
            try:
                self._receive_all(initial)
                await self._read_all()
            finally:
                if self._silent is not None:
                    with anyio.CancelScope(shield=True):
                        await self._kill(self._silent)
                self._reader_done.set()

    async def _read_all(self) -> None:
        """Read and hand on bursts until the socket ends.

        Most bursts are handed on where they arrive (`WebSocket.receive_inline`: the
        transport's callback on asyncio, the arrival poller on Trio over TCP): a reply then
        wakes only its requester, and a pong wakes no task of this connection. What is left
        comes back from ``receive`` here.
        """
        ws = self._ws
        receive = ws.receive
        ws.receive_inline(self._receive_all)
        try:
            while True:
                try:
                    messages = await receive()
                except WebSocketClosed as exc:
                    self._finish(CloseInfo(exc.code, exc.reason or "connection closed"))
                    return
                self._receive_all(messages)
        finally:
            ws.receive_inline(None)

    def _receive_all(self, messages: list[str | bytes]) -> None:
        now = self._now()
        receive = self._proto.receive
        for message in messages:
            outcome = receive(message, now)
            if outcome is None:
                continue
            if isinstance(outcome, Reply):
                slot = self._waiters.get(outcome.ref)
                if slot is not None:
                    if slot.on_reply is not None:
                        slot.on_reply(outcome.data, outcome.error)
                    slot.data, slot.error = outcome.data, outcome.error
                    slot.done.set()
            else:
                self._on_frame(outcome)

    def _on_beat(self, now: float) -> float:
        """The hub's call: declare a silent peer dead, or send a ping that is due.

        Returns when to be called next: the next ping or the silence deadline as it stands
        (a frame that arrives meanwhile moves the deadline; the call then only re-files).
        """
        proto = self._proto
        if proto.close_info is not None:
            return math.inf
        reason, ping, due = proto.tick(now)
        if reason is not None:
            self._silent = reason
            assert self._reader_scope is not None  # set before the hub knew this client
            self._reader_scope.cancel()
        elif ping is not None:
            self._ping(ping)
        return due

    def _ping(self, text: str) -> None:
        """Write a ping at once if the stream takes it, else leave it to a task of ours."""
        ws = self._ws
        try:
            written = ws.send_text_now(text)
        except WebSocketClosed as exc:
            self._closed_while_sending(exc)  # the reader reports the end
            return
        if written:
            self._proto.sent()
            if ws.write_pending:
                self._tasks.start_soon(self._send_later, None)
        else:
            self._tasks.start_soon(self._send_later, text)

    async def _send_later(self, text: str | None) -> None:
        """A ping the hub could not write at once (None: the rest of one it began)."""
        try:
            if text is None:
                await self._write(None)
            else:
                await self._send(text)
        except UTDStreamError:
            return  # the connection is ending; the reader reports how
