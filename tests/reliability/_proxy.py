"""A TCP fault proxy in Trio: pass, delay, reset every connection, or blackhole.

``FaultProxy`` listens on 127.0.0.1:0 and forwards each accepted connection to ``upstream``.
Its mode applies live to every connection:

- ``pass``: forward bytes as they come;
- ``delay``: hold each chunk ``delay`` seconds before forwarding it;
- ``blackhole``: keep both TCP connections open but forward nothing (and accept new ones
  that go nowhere) — a dead path that only a heartbeat can detect;
- ``reset()``: abort every open connection with a TCP RST (SO_LINGER 0), both sides.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Literal

import trio

Mode = Literal["pass", "delay", "blackhole"]


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.mode: Mode = "pass"
        self.delay = 0.0
        self.resets = 0
        self.accepted = 0
        self._changed = trio.Event()
        self._links: set[tuple[trio.SocketStream, trio.SocketStream, trio.CancelScope]] = set()

    def set_mode(self, mode: Mode, delay: float = 0.0) -> None:
        self.mode, self.delay = mode, delay
        self._changed.set()
        self._changed = trio.Event()

    def reset(self) -> None:
        """RST every open connection (both legs) now."""
        for client, upstream, scope in list(self._links):
            for stream in (client, upstream):
                sock = stream.socket
                with suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            scope.cancel()
        self.resets += 1

    @property
    def open_links(self) -> int:
        return len(self._links)

    async def _pump(self, source: trio.SocketStream, sink: trio.SocketStream) -> None:
        while True:
            chunk = await source.receive_some(65536)
            if not chunk:
                await sink.send_eof()
                return
            while self.mode == "blackhole":
                await self._changed.wait()
            if self.mode == "delay" and self.delay > 0:
                await trio.sleep(self.delay)
            await sink.send_all(chunk)

    async def _handle(self, client: trio.SocketStream) -> None:
        self.accepted += 1
        with trio.CancelScope() as scope:
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
            except OSError:
                await trio.aclose_forcefully(client)
                return
            link = (client, upstream, scope)
            self._links.add(link)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, client, upstream)
                    nursery.start_soon(self._pump, upstream, client)
            except* (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
            finally:
                self._links.discard(link)
        for stream in (client, upstream):
            await trio.aclose_forcefully(stream)


@asynccontextmanager
async def open_fault_proxy(upstream_port: int) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(upstream_port)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    proxy.port = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, proxy._handle, listeners)
        yield proxy
        nursery.cancel_scope.cancel()
