"""The opening handshake of a client WebSocket (RFC 6455 §4): the HTTP upgrade, by wsproto."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from wsproto import WSConnection
from wsproto.connection import Connection
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request
from wsproto.utilities import RemoteProtocolError

from .._backend import ByteStream, StreamBroken
from ._ws_errors import HandshakeRejected, handshake_failed

__all__ = ["upgrade"]

log = logging.getLogger("utd_trio.websocket")

_REJECT_BODY_LIMIT: Final = 64 * 1024


async def upgrade(
    handshake: WSConnection,
    stream: ByteStream,
    read: Callable[[], Awaitable[bytes | None]],
    host: str,
    resource: str,
) -> Connection:
    """Send the upgrade request for ``resource`` and read (``read``) until the server answers.

    ``handshake`` is the client's fresh `WSConnection`. Returns the frame-level `Connection`
    it made for the open socket; frames that came in the same read as the 101 are already
    parsed into it, as its pending events.

    Raises:
        HandshakeRejected: the server answered with an HTTP status other than 101 (its body,
            up to 64 KiB, is kept).
        UTDStreamError: NETWORK when the stream broke or the server spoke no WebSocket.
    """
    try:
        await stream.send_all(handshake.send(Request(host=host, target=resource)))
    except StreamBroken as exc:
        raise handshake_failed(f"cannot send the upgrade request: {exc}") from None
    rejected: RejectConnection | None = None
    body = bytearray()
    while True:
        data = await read()
        if data is None:
            if rejected is not None:
                raise HandshakeRejected(rejected.status_code, bytes(body))
            raise handshake_failed("the server closed the connection during the upgrade")
        try:
            handshake.receive_data(data)
            for event in handshake.events():
                if isinstance(event, AcceptConnection):
                    log.debug("websocket open (host %s)", host)
                    assert handshake.connection is not None  # made by the accept
                    return handshake.connection
                if isinstance(event, RejectConnection):
                    rejected = event
                    if not event.has_body:
                        raise HandshakeRejected(event.status_code, b"")
                elif isinstance(event, RejectData):
                    body += event.data[: _REJECT_BODY_LIMIT - len(body)]
                    if event.body_finished:
                        assert rejected is not None
                        raise HandshakeRejected(rejected.status_code, bytes(body))
        except RemoteProtocolError as exc:
            raise handshake_failed(f"bad upgrade response: {exc}") from None
