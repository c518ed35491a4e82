"""A TCP fault proxy (anyio: Trio or asyncio): pass, delay, reset every connection, or blackhole.

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

import anyio
from anyio.abc import SocketAttribute, SocketStream

Mode = Literal["pass", "delay", "blackhole"]


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.mode: Mode = "pass"
        self.delay = 0.0
        self.resets = 0
        self.accepted = 0
        self._changed = anyio.Event()
        self._links: set[tuple[SocketStream, SocketStream, anyio.CancelScope]] = set()

    def set_mode(self, mode: Mode, delay: float = 0.0) -> None:
        self.mode, self.delay = mode, delay
        self._changed.set()
        self._changed = anyio.Event()

    def reset(self) -> None:
        """RST every open connection (both legs) now."""
        for client, upstream, scope in list(self._links):
            for stream in (client, upstream):
                sock = stream.extra(SocketAttribute.raw_socket)
                with suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            scope.cancel()
        self.resets += 1

    @property
    def open_links(self) -> int:
        return len(self._links)

    async def _pump(self, source: SocketStream, sink: SocketStream) -> None:
        while True:
            try:
                chunk = await source.receive(65536)
            except anyio.EndOfStream:
                await sink.send_eof()
                return
            while self.mode == "blackhole":
                await self._changed.wait()
            if self.mode == "delay" and self.delay > 0:
                await anyio.sleep(self.delay)
            await sink.send(chunk)

    async def _handle(self, client: SocketStream) -> None:
        self.accepted += 1
        with anyio.CancelScope() as scope:
            try:
                upstream = await anyio.connect_tcp("127.0.0.1", self.upstream_port)
            except OSError:
                await anyio.aclose_forcefully(client)
                return
            link = (client, upstream, scope)
            self._links.add(link)
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._pump, client, upstream)
                    tg.start_soon(self._pump, upstream, client)
            except* (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass
            finally:
                self._links.discard(link)
        for stream in (client, upstream):
            await anyio.aclose_forcefully(stream)


@asynccontextmanager
async def open_fault_proxy(upstream_port: int) -> AsyncIterator[FaultProxy]:
    proxy = FaultProxy(upstream_port)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    proxy.port = listener.extra(SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, proxy._handle)
        yield proxy
        tg.cancel_scope.cancel()
