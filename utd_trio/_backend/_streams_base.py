"""The byte-stream surface the WebSocket layer needs, and its one error."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
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
    def offer_arrivals(self, sink: Callable[[bytes], bytes] | None) -> bool:
        """Have bytes that arrive while a read waits offered to ``sink`` first, if possible.

        ``sink(data)`` is called where the bytes arrive (asyncio: the transport's callback;
        Trio over plain TCP: the run's arrival poller task, `_trio_arrivals`), only while
        `receive_some` waits with nothing buffered, and returns the tail of ``data`` it did
        not take: ``b""`` (the read goes on waiting) up to all of ``data``; the read returns
        that tail. An exception it raises is raised by the waiting read. Returns False, and
        never calls ``sink``, where bytes arrive only by reading (Trio over TLS:
        ``trio.SSLStream`` decrypts in the reader's task). None removes the sink.
        """

    @abstractmethod
    def can_write_now(self) -> bool:
        """Whether `write_now` may be used: the stream takes bytes without awaiting.

        True on an open asyncio transport that applies no back-pressure (asyncio buffers
        writes) and on an open Trio TCP stream with nothing kept back; always False over TLS
        on Trio (``trio.SSLStream`` writes only by awaiting).
        """

    @abstractmethod
    def write_now(self, data: bytes) -> None:
        """Hand ``data`` to the stream at once (only after `can_write_now`).

        What the socket does not take now is kept (`write_pending`) and goes out first
        with the next `send_all`, so the byte order is the order of the calls.

        Raises:
            StreamBroken: the connection failed or was closed.
        """

    @property
    @abstractmethod
    def write_pending(self) -> bool:
        """True while `write_now` kept bytes back: a `send_all` (``b""`` will do) must follow."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close now, without waiting on the peer; never raises."""
