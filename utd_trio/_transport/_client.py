"""`SignalClient`: one WebSocket connection to the engine.

Two tasks serve it (the receive loop, the heartbeat) in the nursery of `open_signal_client`,
which waited for ``connection.established``. It correlates requests with replies by ``ref``,
and never lets a slow consumer, a stalled peer or a cancelled caller stall or corrupt the socket:

- the receive loop itself reads the socket (`WebSocket.receive`: every message one read
  completed), decodes each frame and hands it to a synchronous callback, so it never waits
  on anyone and pays one wake-up per burst, not per message;
- every send runs shielded with its own deadline: a caller's cancellation cannot cut a frame
  in half, and a peer that stops reading kills the connection instead of hanging it;
- a socket silent for ``heartbeat_interval + heartbeat_timeout`` is declared dead.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import trio

from .._errors import ErrorCode, UTDStreamError
from .._protocol import _vocab as v
from .._protocol._classify import classify_error_frame
from .._protocol._codec import Dropped, DropReason, Frame, decode_frame, encode_frame, event_key
from ._websocket import WebSocket, WebSocketClosed

__all__ = ["CloseInfo", "ConnectionStats", "Hello", "SignalClient"]

log = logging.getLogger("utd_trio.client")

_ESTABLISHED = event_key(v.EV_ESTABLISHED)
_PONG = event_key(v.EV_PONG)
_ACK = event_key(v.EV_ACK)
_ERROR = event_key(v.EV_ERROR)


@dataclass(frozen=True, slots=True)
class Hello:
    """The engine's ``connection.established`` frame."""

    socket_id: str | None
    user_id: str | None
    heartbeat_interval: float
    server_time: datetime | None


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """How a connection ended: the close code (None when it died without one) and why."""

    code: int | None
    reason: str
    by_client: bool = False


@dataclass
class ConnectionStats:
    """Counters of one connection (or, summed by `Signaling`, of a session)."""

    frames_received: int = 0
    frames_sent: int = 0
    dropped: dict[str, int] = field(default_factory=dict[str, int])

    def count_drop(self, reason: DropReason | str) -> None:
        """Count one dropped inbound frame."""
        key = reason.value if isinstance(reason, DropReason) else reason
        self.dropped[key] = self.dropped.get(key, 0) + 1

    @property
    def dropped_total(self) -> int:
        """All dropped inbound frames."""
        return sum(self.dropped.values())


@dataclass(eq=False)
class _Pending:
    done: trio.Event = field(default_factory=trio.Event)
    data: dict[str, Any] | None = None
    error: UTDStreamError | None = None


_refs = itertools.count(1)

# The ping frame is constant but for its ref: encoded once, as `encode_frame` would.
_PING_PREFIX, _PING_SUFFIX = encode_frame(v.REQ_PING, None, "r0").split("r0")


class SignalClient:
    """One open WebSocket connection. Use `open_signal_client` to make one.

    Attributes:
        hello: the engine's hello frame.
        stats: counters of frames received, sent and dropped.
    """

    def __init__(
        self,
        ws: WebSocket,
        hello: Hello,
        *,
        on_frame: Callable[[Frame], None],
        request_timeout: float,
        heartbeat_timeout: float,
        stats: ConnectionStats,
    ) -> None:
        self._ws = ws
        self.hello = hello
        self.stats = stats
        self._on_frame = on_frame
        self._request_timeout = request_timeout
        self._heartbeat_timeout = heartbeat_timeout
        self._pending: dict[str, _Pending] = {}
        self._last_seen = trio.current_time()
        self._closed = trio.Event()
        self._close_info: CloseInfo | None = None
        self._reader_done = trio.Event()

    def __repr__(self) -> str:
        state = "closed" if self._close_info else "open"
        return f"<SignalClient socket_id={self.hello.socket_id!r} {state}>"

    # --- public ------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """True once the connection has ended, for whatever reason."""
        return self._close_info is not None

    @property
    def close_info(self) -> CloseInfo | None:
        """How the connection ended, once it has."""
        return self._close_info

    @property
    def last_seen(self) -> float:
        """Trio time of the last inbound frame (the last proof of life)."""
        return self._last_seen

    @property
    def alive(self) -> bool:
        """True while open and heard from within the heartbeat window."""
        deadline = self._last_seen + self.hello.heartbeat_interval + self._heartbeat_timeout
        return not self.is_closed and trio.current_time() < deadline

    async def wait_closed(self) -> CloseInfo:
        """Wait until the connection ends; return how it ended."""
        await self._closed.wait()
        assert self._close_info is not None
        return self._close_info

    async def request(
        self, event: str, data: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a request and wait for its ``ack``; return the ack's data.

        Raises:
            UTDStreamError: the classified ``error`` reply; TIMEOUT when no reply came within
                ``timeout`` (default: the client's request timeout); NETWORK when the
                connection ended before the reply; INVALID when the frame cannot be sent.
        """
        ref = f"r{next(_refs)}"
        text = encode_frame(event, data, ref)
        slot = _Pending()
        self._pending[ref] = slot
        limit = self._request_timeout if timeout is None else timeout
        try:
            with trio.move_on_after(limit) as scope:
                await self._send(text)
                await slot.done.wait()
        finally:
            del self._pending[ref]
        if scope.cancelled_caught and not slot.done.is_set():
            raise UTDStreamError(ErrorCode.TIMEOUT, f"{event}: no reply within {limit:g} s")
        if slot.error is not None:
            raise slot.error
        return slot.data or {}

    async def send(self, event: str, data: Mapping[str, Any] | None = None) -> None:
        """Send a frame without waiting for a reply (it still carries a fresh ``ref``)."""
        await self._send(encode_frame(event, data, f"r{next(_refs)}"))

    async def aclose(self, code: int = v.CLOSE_NORMAL, reason: str = "") -> None:
        """Close the WebSocket with ``code``; forcefully if the close handshake stalls.

        The receive loop reads the engine's close reply. Bounded by the heartbeat timeout;
        callers that need a tighter bound wrap it.
        """
        self._finish(CloseInfo(code, reason or "closed by client", by_client=True))
        with trio.move_on_after(self._heartbeat_timeout):
            await self._ws.send_close(code, reason)
            await self._reader_done.wait()
        await self._ws.abort()

    # --- internals ---------------------------------------------------------------------

    def _finish(self, info: CloseInfo) -> None:
        if self._close_info is not None:
            return
        self._close_info = info
        err = UTDStreamError(
            ErrorCode.NETWORK, f"connection lost before the reply: {info.reason}", status=info.code
        )
        for slot in self._pending.values():
            if not slot.done.is_set():
                slot.error = err
                slot.done.set()
        self._closed.set()

    async def _kill(self, reason: str) -> None:
        """Declare the connection dead and drop the TCP stream without a handshake."""
        self._finish(CloseInfo(None, reason))
        await self._ws.abort()

    async def _send(self, text: str) -> None:
        if self._close_info is not None:
            raise UTDStreamError(
                ErrorCode.NETWORK, "connection is closed", status=self._close_info.code
            )
        # Shielded: a cancelled caller must not leave half a frame on the wire. Bounded: a
        # peer that stops reading kills this connection rather than hanging the sender. One
        # scope does both (a shield keeps outer cancellation out, not the scope's own deadline).
        deadline = trio.current_time() + self._heartbeat_timeout
        with trio.CancelScope(deadline=deadline, shield=True) as scope:
            try:
                await self._ws.send_text(text)
            except WebSocketClosed as exc:
                # Mark the client closed now, not when the receive loop notices: callers
                # decide on a resend by `is_closed`.
                self._finish(CloseInfo(exc.code, f"connection closed while sending: {exc.reason}"))
                raise UTDStreamError(
                    ErrorCode.NETWORK, "connection is closed", status=exc.code
                ) from None
        if scope.cancelled_caught:
            with trio.CancelScope(shield=True):
                await self._kill("send stalled: the engine stopped reading")
            raise UTDStreamError(ErrorCode.NETWORK, "send stalled; connection dropped")
        self.stats.frames_sent += 1

    async def _receive_loop(self, initial: list[str | bytes], scope: trio.CancelScope) -> None:
        """Read until the connection ends, inside ``scope``.

        ``scope`` is shielded by the owner: outer cancellation must not stop the reader
        before the close handshake it is part of has finished; the owner cancels it after.
        ``initial`` are the messages that arrived with the hello.
        """
        with scope:
            try:
                for message in initial:
                    self._receive(message)
                receive = self._ws.receive
                while True:
                    try:
                        messages = await receive()
                    except WebSocketClosed as exc:
                        self._finish(CloseInfo(exc.code, exc.reason or "connection closed"))
                        return
                    self._last_seen = trio.current_time()
                    for message in messages:
                        self._receive(message)
            finally:
                self._reader_done.set()

    def _receive(self, message: str | bytes) -> None:
        self.stats.frames_received += 1
        frame = decode_frame(message)
        if isinstance(frame, Dropped):
            self.stats.count_drop(frame.reason)
            log.debug("dropped inbound frame: %s", frame.reason.value)
            return
        self._handle(frame)

    def _handle(self, frame: Frame) -> None:
        if frame.event == _ACK or frame.event == _ERROR:
            slot = self._pending.get(frame.ref) if frame.ref is not None else None
            if slot is None:
                if frame.event == _ERROR:
                    self.stats.count_drop("error_without_request")
                    log.debug("engine error without a pending request: %s", frame.data.get("code"))
                return
            if frame.event == _ERROR:
                slot.error = classify_error_frame(frame.data)
            else:
                slot.data = frame.data
            slot.done.set()
        elif frame.event == _PONG or frame.event == _ESTABLISHED:
            return
        else:
            self._on_frame(frame)

    async def _heartbeat_loop(self) -> None:
        interval = self.hello.heartbeat_interval
        next_ping = trio.current_time() + interval
        while True:
            dead_at = self._last_seen + interval + self._heartbeat_timeout
            await trio.sleep_until(min(next_ping, dead_at))
            now = trio.current_time()
            if now >= self._last_seen + interval + self._heartbeat_timeout:
                await self._kill(f"no frame from the engine for {now - self._last_seen:.1f} s")
                return
            if now >= next_ping:
                next_ping = now + interval
                try:
                    await self._send(f"{_PING_PREFIX}r{next(_refs)}{_PING_SUFFIX}")
                except UTDStreamError:
                    return
