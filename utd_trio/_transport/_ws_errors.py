"""The failures of the WebSocket layer: the socket ended, or the upgrade was refused."""

from __future__ import annotations

from .._errors import ErrorCode, UTDStreamError
from .._protocol._vocab import CLOSE_ABNORMAL  # RFC 6455 §7.1.5: ended without a close frame

__all__ = ["CLOSE_ABNORMAL", "HandshakeRejected", "WebSocketClosed", "handshake_failed"]


class WebSocketClosed(Exception):
    """The WebSocket has ended: ``code`` from the close frame (1006 without one)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class HandshakeRejected(Exception):
    """The server answered the upgrade with an HTTP status instead of 101."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def handshake_failed(why: str) -> UTDStreamError:
    """The upgrade failed for ``why`` (a NETWORK error: retried like any dial failure)."""
    return UTDStreamError(ErrorCode.NETWORK, f"WebSocket handshake failed: {why}")
