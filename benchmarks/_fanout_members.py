"""What ``fanout.py`` and ``channel_fanout.py`` share: members, arrivals, rounds, bare clients.

Written in anyio, so that the same measurement runs on Trio (in the benchmark's process) and
on asyncio / uvloop (in a ``_loop_worker.py call`` process). The bare baseline client is each
loop's usual bare WebSocket library: trio-websocket (default settings) on Trio, ``websockets``
(``websockets.asyncio.client``: no compression, no keepalive pings of its own) on asyncio.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from utd_trio import UTDApi
from utd_trio._protocol._urls import ws_url_with_token

from ._bare_idle import Receive, Send, bare_socket
from ._common import call_on_loop

SEND_WINDOW = 120.0  # the send rounds stop early (and say so) past this
OPEN_CONCURRENCY = 32
PING_EVERY = 10.0  # bare clients; the engine closes a socket silent for 2 × heartbeat

Trip = tuple[float, float, list[float] | None]
"""One send: when it left, when it was acked, and each receiver's arrival (None: missed)."""


class Arrivals:
    """Arrival times of the current marker at the members of one group."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.marker = ""
        self.times: list[float] = []
        self.done = anyio.Event()

    def arm(self, marker: str) -> None:
        self.marker = marker
        self.times = []
        self.done = anyio.Event()

    def hit(self, text: object) -> None:
        if text == self.marker:
            self.times.append(time.perf_counter())
            if len(self.times) >= self.expected:
                self.done.set()

    async def wait(self, timeout: float) -> list[float] | None:
        """Every member's arrival time, or None if one has not arrived within ``timeout``."""
        with anyio.move_on_after(timeout):
            await self.done.wait()
        return list(self.times) if self.done.is_set() else None


class Members:
    """Members joining, `OPEN_CONCURRENCY` at a time; `all_ready` once each is (or failed)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.ready = 0
        self.failures: list[str] = []
        self.all_ready = anyio.Event()
        self._gate = anyio.Semaphore(OPEN_CONCURRENCY)

    def _check(self) -> None:
        if self.ready + len(self.failures) >= self.expected:
            self.all_ready.set()

    @asynccontextmanager
    async def joining(self) -> AsyncGenerator[Callable[[], None], None]:
        """A member's whole life: waits for a turn to connect, yields ``joined()``.

        The member calls ``joined()`` once it can receive (that frees its turn and counts it
        ready). An exception out of the member is recorded as a failure and ends it quietly.
        """
        await self._gate.acquire()
        held = True

        def joined() -> None:
            nonlocal held
            self._gate.release()
            held = False
            self.ready += 1
            self._check()

        try:
            yield joined
        except Exception as exc:
            self.failures.append(repr(exc)[:200])
            self._check()
        finally:
            if held:
                self._gate.release()


@asynccontextmanager
async def bare_client(api: UTDApi, user: str) -> AsyncGenerator[tuple[Receive, Send], None]:
    """A bare WebSocket for ``user`` (minted through ``api``), past its hello.

    It sends a ``ping`` every `PING_EVERY` s so the engine's idle timeout leaves it alone, as
    the SDK's heartbeat does; the caller reads every frame itself.
    """
    session = await api.mint_session(user)
    url = ws_url_with_token(session.ws_url, session.user_token)
    async with bare_socket(url) as (receive, send), anyio.create_task_group() as tg:
        await receive()  # hello
        tg.start_soon(_pinger, send)
        try:
            yield receive, send
        finally:
            tg.cancel_scope.cancel()


async def _pinger(send: Send) -> None:
    for i in range(10_000):
        await anyio.sleep(PING_EVERY)
        await send(json.dumps({"event": "ping", "ref": f"p{i}"}))


async def run_rounds(
    names: list[str],
    one: Callable[[str, str], Awaitable[Trip]],
    sends: int,
    out: dict[str, Any],
) -> int:
    """A warm-up round, then up to ``sends`` rounds of ``one(name, tag)`` per name.

    The order alternates between rounds; rounds stop past `SEND_WINDOW`. Ack times, first
    and last arrivals and misses are appended to ``out`` per name. Returns the rounds done.
    """
    order = list(names)
    deadline = anyio.current_time() + SEND_WINDOW
    for name in order:  # warm-up round, not counted
        await one(name, f"warm {name}")
    done = 0
    for k in range(sends):
        if anyio.current_time() > deadline:
            break
        for name in order:
            sent, acked, times = await one(name, f"#{k} {name}")
            out["ack"][name].append(acked - sent)
            if times is None:
                out["missed"][name] += 1
            else:
                out["first"][name].append(min(times) - sent)
                out["last"][name].append(max(times) - sent)
        order.reverse()
        done += 1
    return done


def prefix(loop: str) -> str:
    """The label prefix of ``loop``'s figures: none for Trio, ``"asyncio: "`` and so on."""
    return "" if loop == "trio" else f"{loop}: "


async def measure_on_loops(
    function: str,
    here: Callable[..., Awaitable[dict[str, Any]]],
    loops: tuple[str, ...],
    quiet: bool,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    """``here(**kwargs, loop_name="trio")`` in this process, then ``function`` ("module:name", the
    same function) in a `call_on_loop` worker per loop in ``loops``, one after the other."""
    per_loop = {"trio": await here(**kwargs, loop_name="trio")}
    for loop in loops:
        if not quiet:
            print(f"{function.partition(':')[0]}: {loop} ...", file=sys.stderr)
        per_loop[loop] = await call_on_loop(loop, function, **kwargs, loop_name=loop)
    return per_loop


def loops_note(loops: tuple[str, ...], own: str) -> str:
    """The note on the other loops' rows (empty without any); ``own``: what each run has of
    its own on the shared engine ("users and groups")."""
    if not loops:
        return ""
    return (
        "Other loops: "
        + ", ".join(f"`{loop}`" for loop in loops)
        + ": the same measurement in a worker process each (`benchmarks/_loop_worker.py "
        f"call`), run after the Trio figures against the same engine process, with {own} of "
        "their own; the SDK sessions run on that loop, and the bare clients there are "
        "`websockets` (`websockets.asyncio.client`, no compression, no keepalive pings; "
        "`recv()` + `json.loads`)."
    )
