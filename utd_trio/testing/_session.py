"""One open WebSocket of the engine: ordered outbox, inbound queue, idle watchdog, stall, close.

A :class:`Session` knows nothing about ASGI: :meth:`Session.run` is given plain callables to
receive a frame, send a text frame and send a close frame. Domain code uses only
:meth:`Session.send` / :meth:`Session.close` and the identity attributes.

The outbox is bounded (:attr:`Session.outbox_limit`, from ``open_engine(outbox_max_frames=,
outbox_max_bytes=)``): a client that stops reading while events keep coming would otherwise
grow the engine's memory without limit. When a queued frame takes the outbox over either
bound, the queued frames are discarded and the socket is closed with
:data:`OUTBOX_OVERFLOW_CODE` (reason :data:`OUTBOX_OVERFLOW_REASON`). The close frame goes
out once the frame being written completes; if the writer is still stuck
:data:`CLOSE_HANDSHAKE_TIMEOUT` seconds after any close began (the peer reads nothing), the TCP
connection is reset and the socket's memory released. The client reconnects and recovers the
missed messages from history, as after any drop.
"""

from __future__ import annotations

import json
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio

from ._errors import JSONObject

__all__ = [
    "DEFAULT_OUTBOX_MAX_BYTES",
    "DEFAULT_OUTBOX_MAX_FRAMES",
    "MAX_FRAME_BYTES",
    "OUTBOX_OVERFLOW_CODE",
    "OUTBOX_OVERFLOW_REASON",
    "Inbound",
    "Session",
    "encode_frame",
]

log = logging.getLogger("utd_trio.testing")

MAX_FRAME_BYTES: Final = 1024 * 1024
"""Largest frame (UTF-8 bytes) either side may send [protocol §5]."""

CLOSE_HANDSHAKE_TIMEOUT: Final = 5.0
"""How long (loop-clock seconds) the engine waits for the peer to answer its close frame, and for
its writer to get the close frame out at all (after that the connection is reset)."""

OUTBOX_OVERFLOW_CODE: Final = 4100
"""Close code for a socket whose outbox overflowed (the client does not read fast enough)."""

OUTBOX_OVERFLOW_REASON: Final = "Outbox overflow: the client is not reading"
"""Close reason sent with :data:`OUTBOX_OVERFLOW_CODE`."""

DEFAULT_OUTBOX_MAX_FRAMES: Final = 1000
"""Default bound on frames queued to one socket and not yet written."""

DEFAULT_OUTBOX_MAX_BYTES: Final = 16 * 1024 * 1024
"""Default bound on UTF-8 bytes queued to one socket and not yet written (16 MiB)."""

Inbound = str | bytes
"""One inbound WebSocket message: text or binary."""


def encode_frame(frame: JSONObject) -> str:
    """Serialise a frame compactly; refuse one over :data:`MAX_FRAME_BYTES`."""
    text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
    if len(text) * 4 > MAX_FRAME_BYTES and len(text.encode("utf-8")) > MAX_FRAME_BYTES:
        raise ValueError(f"engine refuses to send a frame over {MAX_FRAME_BYTES} bytes")
    return text


def _nothing() -> None:
    return None


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class Session:
    """One accepted WebSocket of a user.

    Identity: :attr:`socket_id`, :attr:`app_id`, :attr:`user_id`, :attr:`peer` (client
    ``(host, port)``). Sending is synchronous and ordered: frames go to an outbox that a writer
    task drains, so a handler can push events to many sockets without blocking on any of them.
    """

    def __init__(
        self,
        *,
        socket_id: str,
        app_id: str,
        user_id: str,
        peer: tuple[str, int] | None,
        on_closing: Callable[[Session], None],
        abort_transport: Callable[[Session], bool],
    ) -> None:
        self.socket_id: Final = socket_id
        """Engine-made id, also sent in ``connection.established``."""
        self.app_id: Final = app_id
        """Project of the socket's user."""
        self.user_id: Final = user_id
        """The user (minted identity)."""
        self.peer: Final = peer
        """Client address ``(host, port)`` as seen by the server."""
        self.opened_at: Final = anyio.current_time()
        """Loop time the socket was accepted."""
        self.frames_received = 0
        """Inbound frames processed on this socket (including invalid ones)."""
        self.invalid_frames = 0
        """Inbound frames answered with ``invalid_frame`` or dropped as oversize."""
        self.frames_sent = 0
        """Outbound text frames written to this socket."""
        self.on_frame_sent: Callable[[], None] = _nothing
        """Called after each outbound frame is written (the engine counts them in its stats)."""
        self.closed_with: tuple[int | None, str] | None = None
        """``(code, reason)`` once closing began; code ``None`` = abrupt drop or peer gone."""
        self._on_closing = on_closing
        self._abort_transport = abort_transport
        self._outbox: deque[str] = deque()
        self._outbox_bytes = 0
        self.outbox_limit: tuple[int, int] = (DEFAULT_OUTBOX_MAX_FRAMES, DEFAULT_OUTBOX_MAX_BYTES)
        """``(frames, bytes)``: the outbox bound; going over it closes the socket (module doc)."""
        self.outbox_overflowed = False
        """``True`` once the socket was closed because its outbox overflowed."""
        self._writer_done = False
        self._inbound: deque[Inbound] = deque()
        self._changed = anyio.Event()
        self._stalled = False
        self._aborted = False
        self._peer_gone = anyio.Event()
        self._finished = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        self._last_inbound = anyio.current_time()
        # Session-scoped storage for domain modules (e.g. presence subscriptions).
        self.extras: dict[str, Any] = {}
        """Free-form per-socket storage for domain modules; key by your module's name."""

    def __repr__(self) -> str:
        return f"<Session {self.socket_id} {self.app_id}/{self.user_id} open={self.is_open}>"

    # ---- public surface -------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """``True`` until a close, drop, ban or disconnect began."""
        return self.closed_with is None

    @property
    def outbox_size(self) -> tuple[int, int]:
        """``(frames, bytes)`` queued to this socket and not yet handed to the transport."""
        return len(self._outbox), self._outbox_bytes

    @property
    def stalled(self) -> bool:
        """``True`` while the socket is stalled (see :meth:`stall`)."""
        return self._stalled

    def send(self, event: str, data: JSONObject | None = None, *, ref: object = None) -> None:
        """Queue ``{"event", "data"?, "ref"?}`` to this socket; no-op once closing.

        ``data=None`` omits ``data``; ``ref=None`` omits ``ref``.
        """
        frame: JSONObject = {"event": event}
        if data is not None:
            frame["data"] = data
        if ref is not None:
            frame["ref"] = ref
        self.send_frame(frame)

    def send_frame(self, frame: JSONObject) -> None:
        """Queue a raw frame object; no-op once closing."""
        if not self.is_open:
            return
        text = encode_frame(frame)
        self._outbox.append(text)
        self._outbox_bytes += _utf8_len(text)
        max_frames, max_bytes = self.outbox_limit
        if len(self._outbox) > max_frames or self._outbox_bytes > max_bytes:
            self._overflow()
            return
        self._notify()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start a graceful close: flush the outbox, then send a close frame with ``code``.

        The socket leaves the engine's socket table at once. A stalled socket discards its
        held outbound frames and sends only the close frame.
        """
        self._begin_close(code, reason)

    def abort(self) -> bool:
        """Drop the TCP connection abruptly (RST, no close frame). Returns ``False`` if closed."""
        if not self.is_open:
            return False
        self._aborted = True
        self._begin_close(None, "")
        self._abort_transport(self)
        if self._scope is not None:
            self._scope.cancel()
        return True

    def stall(self) -> None:
        """Freeze the socket: send nothing, process nothing, no idle close; TCP stays open."""
        self._stalled = True
        self._notify()

    def unstall(self) -> None:
        """Resume a stalled socket: held frames go out, queued inbound frames are processed."""
        if self._stalled:
            self._stalled = False
            self._last_inbound = anyio.current_time()
            self._notify()

    async def wait_finished(self) -> None:
        """Wait until the socket's task has ended and close hooks have run."""
        await self._finished.wait()

    # ---- engine internals -----------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _overflow(self) -> None:
        log.warning(
            "closing socket %s with %d: %d frames / %d bytes queued and unread",
            self.socket_id,
            OUTBOX_OVERFLOW_CODE,
            len(self._outbox),
            self._outbox_bytes,
        )
        self._outbox.clear()
        self._outbox_bytes = 0
        self.outbox_overflowed = True
        self._begin_close(OUTBOX_OVERFLOW_CODE, OUTBOX_OVERFLOW_REASON)

    def _begin_close(self, code: int | None, reason: str) -> None:
        if self.closed_with is not None:
            return
        self.closed_with = (code, reason)
        self._on_closing(self)
        self._notify()

    async def run(
        self,
        *,
        receive: Callable[[], Awaitable[Inbound | None]],
        send_text: Callable[[str], Awaitable[None]],
        send_close: Callable[[int, str], Awaitable[None]],
        process: Callable[[Session, Inbound], Awaitable[None]],
        idle_timeout: float,
    ) -> None:
        """Run the socket until it is closed; returns when the peer is gone or dropped."""
        try:
            async with anyio.create_task_group() as tasks:
                self._scope = tasks.cancel_scope
                if self._aborted:
                    tasks.cancel_scope.cancel()
                tasks.start_soon(self._reader, receive)
                tasks.start_soon(self._processor, process)
                tasks.start_soon(self._watchdog, idle_timeout)
                tasks.start_soon(self._close_deadline)
                await self._writer(send_text, send_close)
                self._writer_done = True
                with anyio.move_on_after(CLOSE_HANDSHAKE_TIMEOUT):
                    await self._peer_gone.wait()
                tasks.cancel_scope.cancel()
        finally:
            self._begin_close(None, "")

    def mark_finished(self) -> None:
        """Engine core only: the socket's task ended and its close hooks ran."""
        self._finished.set()

    async def _reader(self, receive: Callable[[], Awaitable[Inbound | None]]) -> None:
        while True:
            message = await receive()
            if message is None:
                self._peer_gone.set()
                self._begin_close(None, "peer closed")
                return
            self._last_inbound = anyio.current_time()
            if self.is_open:
                self._inbound.append(message)
                self._notify()

    async def _processor(self, process: Callable[[Session, Inbound], Awaitable[None]]) -> None:
        while True:
            changed = self._changed
            if not self.is_open:
                return
            if self._inbound and not self._stalled:
                await process(self, self._inbound.popleft())
                continue
            await changed.wait()

    async def _writer(
        self,
        send_text: Callable[[str], Awaitable[None]],
        send_close: Callable[[int, str], Awaitable[None]],
    ) -> None:
        while True:
            changed = self._changed
            if self._aborted or self._peer_gone.is_set():
                return
            if self._outbox and not self._stalled:
                text = self._outbox.popleft()
                self._outbox_bytes -= _utf8_len(text)
                await send_text(text)
                self.frames_sent += 1
                self.on_frame_sent()
                continue
            if self.closed_with is not None:
                break
            await changed.wait()
        code, reason = self.closed_with
        if code is not None:
            await send_close(code, reason)

    async def _close_deadline(self) -> None:
        # Cancelled with the task group once the writer is done; fires only if it is stuck.
        while self.closed_with is None:
            changed = self._changed
            if self.closed_with is None:
                await changed.wait()
        await anyio.sleep(CLOSE_HANDSHAKE_TIMEOUT)
        if self._writer_done:
            return
        log.info(
            "socket %s: close frame not out after %.1fs, resetting",
            self.socket_id,
            CLOSE_HANDSHAKE_TIMEOUT,
        )
        self._outbox.clear()
        self._outbox_bytes = 0
        self._aborted = True
        self._abort_transport(self)
        if self._scope is not None:
            self._scope.cancel()

    async def _watchdog(self, idle_timeout: float) -> None:
        if not math.isfinite(idle_timeout):
            return
        while self.is_open:
            changed = self._changed
            deadline = self._last_inbound + idle_timeout
            if anyio.current_time() < deadline:
                await anyio.sleep_until(deadline)
            elif self._stalled:
                await changed.wait()
            else:
                log.info(
                    "closing idle socket %s (no frame for %.1fs)", self.socket_id, idle_timeout
                )
                self.close(4008, "Heartbeat timeout")
                return
