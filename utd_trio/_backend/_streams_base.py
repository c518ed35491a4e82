"""The byte-stream surface the WebSocket layer needs, and its one error."""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

__all__ = ["ByteStream", "StreamBroken"]


class StreamBroken(Exception):
    """The connection under a stream failed or was closed (``__cause__`` says how)."""


class ByteStream(Protocol):
    """What the WebSocket layer needs of a connection."""

    @abstractmethod
    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        """Up to ``max_bytes`` bytes; ``b""`` once the peer has closed its side."""

    @abstractmethod
    async def send_all(self, data: bytes) -> None:
        """Write all of ``data``."""

    @abstractmethod
    def can_write_now(self) -> bool:
        """Whether `write_now` may be used: the stream takes bytes without awaiting.

        True on an open asyncio transport that applies no back-pressure (asyncio buffers
        writes); always False for a stream that must await to write (Trio's).
        """

    @abstractmethod
    def write_now(self, data: bytes) -> None:
        """Hand all of ``data`` to the transport at once (only after `can_write_now`)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close now, without waiting on the peer; never raises."""
