"""Receive throughput: typed events/s through ``sig.events()`` vs a bare trio-websocket loop.

A separate server process (``benchmarks/_blast_server.py``) sends N realistic frames back to
back on request. Three readers take the same bursts from the same server, interleaved round
by round:

- ``bare``: ``trio_websocket.open_websocket_url`` with its default settings,
  ``get_message()`` + ``json.loads`` (the baseline of issue #3);
- ``bare-tuned``: the same loop with trio-websocket tuned as the SDK used it until it got its
  own transport (256-message queue, 64 KiB reads);
- ``transport``: the SDK's own transport (``utd_trio._transport._websocket.WebSocket``:
  wsproto driven by the reading task, no reader task) + ``json.loads``: the SDK's ceiling;
- ``websockets-trio`` (only when ``websockets`` >= 14 with its Trio implementation is
  importable, e.g. ``uv run --with 'websockets>=16' ...``): the same loop on the alternative
  transport, to show what a change behind the transport seam would buy;
- ``sdk``: ``open_signaling`` → ``sig.events(MessageReceived | PresenceChanged)``, each frame
  decoded into a typed, frozen event record.

Figure: median events/s of each reader; ratios sdk/bare and sdk/bare-tuned.

    uv run python -m benchmarks.receive [--smoke] [--n 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import trio
import trio_websocket

from utd_trio import MessageReceived, PresenceChanged, open_signaling
from utd_trio._transport._connect import _MAX_MESSAGE, _RECEIVE_BUFFER
from utd_trio._transport._websocket import WebSocket

from ._common import Result, median, server_process

# trio-websocket as the SDK tuned it before it had its own transport.
_TUNED_QUEUE = 256

TIME_CAP = 120.0  # seconds for the whole benchmark


async def _prepare_bare(ws: trio_websocket.WebSocketConnection, kind: str, n: int) -> None:
    await ws.send_message(
        json.dumps({"event": "bench.prepare", "data": {"kind": kind, "n": n}, "ref": "p"})
    )
    while True:
        frame = json.loads(await ws.get_message())
        if frame.get("event") == "ack":
            return


def bare_reader(ws: trio_websocket.WebSocketConnection) -> Callable[[str, int], Awaitable[float]]:
    async def run(kind: str, n: int) -> float:
        await _prepare_bare(ws, kind, n)
        get, loads = ws.get_message, json.loads
        start = time.perf_counter()
        await ws.send_message('{"event":"bench.blast","data":{},"ref":"b"}')
        for _ in range(n):
            loads(await get())
        return time.perf_counter() - start

    return run


def websockets_reader(ws: Any) -> Callable[[str, int], Awaitable[float]]:
    async def run(kind: str, n: int) -> float:
        await ws.send(
            json.dumps({"event": "bench.prepare", "data": {"kind": kind, "n": n}, "ref": "p"})
        )
        while json.loads(await ws.recv()).get("event") != "ack":
            pass
        recv, loads = ws.recv, json.loads
        start = time.perf_counter()
        await ws.send('{"event":"bench.blast","data":{},"ref":"b"}')
        for _ in range(n):
            loads(await recv())
        return time.perf_counter() - start

    return run


def transport_reader(ws: WebSocket) -> Callable[[str, int], Awaitable[float]]:
    async def run(kind: str, n: int) -> float:
        prepare = {"event": "bench.prepare", "data": {"kind": kind, "n": n}, "ref": "p"}
        await ws.send_text(json.dumps(prepare))
        acked = False
        while not acked:
            acked = any(json.loads(m).get("event") == "ack" for m in await ws.receive())
        receive, loads = ws.receive, json.loads
        start = time.perf_counter()
        await ws.send_text('{"event":"bench.blast","data":{},"ref":"b"}')
        got = 0
        while got < n:
            for message in await receive():
                loads(message)
                got += 1
        return time.perf_counter() - start

    return run


@asynccontextmanager
async def _transport(ws_url: str) -> AsyncIterator[WebSocket]:
    parts = urlsplit(ws_url)
    host, port = parts.hostname or "", parts.port or 80
    stream = await trio.open_tcp_stream(host, port)
    try:
        ws = await WebSocket.connect(
            stream,
            f"{host}:{port}",
            f"{parts.path}?{parts.query}",
            max_message=_MAX_MESSAGE,
            receive_buffer=_RECEIVE_BUFFER,
            control_timeout=5.0,
        )
        await ws.receive()  # hello
        yield ws
    finally:
        await trio.aclose_forcefully(stream)


@asynccontextmanager
async def _websockets_trio(ws_url: str) -> AsyncIterator[Any]:
    try:
        from websockets.trio.client import connect  # type: ignore[import-not-found]
    except ImportError:
        yield None
        return
    async with connect(ws_url, compression=None, ping_interval=None, proxy=None) as ws:
        await ws.recv()  # hello
        yield ws


async def measure(
    ws_url: str, *, n: int, rounds: int, kinds: tuple[str, ...]
) -> dict[str, dict[str, list[float]]]:
    """Events/s of each reader, per kind, one entry per round."""
    rates: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}

    async def provider() -> dict[str, Any]:
        return {"user_token": "tok_bench", "ws_url": ws_url, "signaling_enabled": True}

    async with (
        trio_websocket.open_websocket_url(ws_url) as plain,
        trio_websocket.open_websocket_url(
            ws_url, message_queue_size=_TUNED_QUEUE, receive_buffer_size=_RECEIVE_BUFFER
        ) as tuned,
        _transport(ws_url) as own,
        open_signaling(
            app_id="app_bench",
            user_id="alice",
            session_provider=provider,
            base_url="http://127.0.0.1:9",
        ) as sig,
        _websockets_trio(ws_url) as alt,
    ):
        await plain.get_message()  # hello
        await tuned.get_message()
        stream = sig.events(MessageReceived, PresenceChanged, buffer=n + 16)

        async def sdk(kind: str, n: int) -> float:
            await sig.request("bench.prepare", {"kind": kind, "n": n})
            client = sig.client
            assert client is not None
            start = time.perf_counter()
            await client.send("bench.blast")
            got = 0
            async for _ev in stream:
                got += 1
                if got == n:
                    break
            return time.perf_counter() - start

        readers = {
            "bare": bare_reader(plain),
            "bare-tuned": bare_reader(tuned),
            "transport": transport_reader(own),
            "sdk": sdk,
        }
        if alt is not None:
            readers["websockets-trio"] = websockets_reader(alt)
        order = list(readers)
        for r in range(rounds):
            for kind in kinds:
                # Rotate who goes first so drift on a shared machine hits all readers alike.
                k = r % len(order)
                for name in order[k:] + order[:k]:
                    elapsed = await readers[name](kind, n)
                    rates[kind].setdefault(name, []).append(n / elapsed)
        assert stream.dropped == 0, "the SDK stream dropped events: buffer too small"
    return rates


async def run(*, smoke: bool = False, n: int | None = None, rounds: int | None = None) -> Result:
    n = n or (200 if smoke else 20_000)
    rounds = rounds or (1 if smoke else 7)
    kinds = ("message", "presence")
    command = "uv run python -m benchmarks.receive" + (" --smoke" if smoke else "")
    result = Result("Receive throughput (issue #3 / #7.1)", command)
    with trio.fail_after(TIME_CAP):
        async with server_process("_blast_server") as info:
            rates = await measure(info["ws_url"], n=n, rounds=rounds, kinds=kinds)
    for kind in kinds:
        med = {name: median(values) for name, values in rates[kind].items()}
        ratio = med["sdk"] / med["bare"]
        result.add(f"{kind}: bare trio-websocket (defaults)", med["bare"], "events/s")
        result.add(f"{kind}: bare trio-websocket (tuned)", med["bare-tuned"], "events/s")
        own = med["transport"]
        result.add(f"{kind}: bare SDK transport (wsproto, no reader task)", own, "events/s")
        result.add(f"{kind}: SDK typed events", med["sdk"], "events/s")
        verdict = None if smoke else ratio >= 1.0
        result.add(f"{kind}: SDK / bare", ratio, "x", "≥ 1.0× (floor 0.8×)", verdict)
        result.add(f"{kind}: SDK / bare trio-websocket tuned", med["sdk"] / med["bare-tuned"], "x")
        result.add(f"{kind}: SDK / bare SDK transport", med["sdk"] / own, "x")
        if "websockets-trio" in med:
            alt = med["websockets-trio"]
            result.add(f"{kind}: bare websockets.trio (alternative transport)", alt, "events/s")
            result.add(f"{kind}: websockets.trio / bare trio-websocket", alt / med["bare"], "x")
        result.raw[kind] = rates[kind]
    result.notes.append(
        f"{n:,} frames per burst, {rounds} rounds, readers interleaved; median of rounds. "
        "Server: separate process (trio + wsproto), frames pre-built and written in 256 KiB "
        "chunks; message ≈ 400 B (`message.new`), presence ≈ 110 B (`presence.update`)."
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--n", type=int)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    trio.run(lambda: _print(run(smoke=args.smoke, n=args.n, rounds=args.rounds)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
