"""Benchmark readers and round trips in a process of their own, on one event loop.

Run by ``receive.py`` and ``roundtrip.py`` as a *script* (``python benchmarks/_loop_worker.py``,
never ``-m``), so that ``PYTHONPATH`` decides which ``utd_trio`` it imports: the current tree,
or a baseline tree (``git worktree add /tmp/utd_base 4232de7``) for the before/after rows.
It imports nothing from ``benchmarks`` for the same reason.

``--loop`` picks the loop: ``trio`` (``trio.run``), ``asyncio`` (``asyncio.run``) or ``uvloop``
(``uvloop.run``), one loop per process.

- ``receive --ws-url URL --readers sdk,websockets``: connects each reader to the blast server
  (``_blast_server.py``), prints ``{"ready": ..., "utd_trio": <its file>}``, then answers one
  JSON line per stdin line ``{"reader": R, "kind": K, "n": N}`` with ``{"elapsed": s}`` (the
  parent interleaves the rounds of every process); exits when stdin closes.
- ``roundtrip --engine JSON --n N``: interleaves bare ``websockets`` and SDK requests against
  the engine (``_engine_server.py``) and prints ``{"samples": {kind: [seconds, ...]}}``.
- ``call --function MODULE:NAME --kwargs JSON``: awaits ``NAME(**kwargs)`` of a benchmark
  module (an anyio coroutine function: the measurement of ``recovery.py`` and the others, so
  each runs its own code on this loop) and prints ``{"result": <its JSON value>}``. Only
  this mode imports from ``benchmarks`` (the module named), from the tree of this script.

Readers (the same frames, the same loops as the in-process Trio readers of ``receive.py``):

- ``sdk``: ``open_signaling`` → ``sig.events(MessageReceived, PresenceChanged)``;
- ``websockets``: ``websockets.asyncio.client.connect`` (defaults but no compression and no
  keepalive pings), ``recv()`` + ``json.loads`` (asyncio loops only);
- ``websockets-q256``: the same with a 256-frame receive queue (``max_queue``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

Reader = Callable[[str, int], Awaitable[float]]

SEND_TEXT = "Hey Bob, the build is green again; merging the release branch now."
PAYLOAD = {
    "to": "bob",
    "text": SEND_TEXT,
    "client_id": "c_7f3a9b2e-4d1c-4e8a-9f6b-2a1c3d4e5f60",
    "metadata": {"thread": "release"},
}
SEND_TO = "bob"
SEND_METADATA = {"thread": "release"}
BLOCK = 100
_TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("bare echo", "sdk echo", "bare send", "sdk send")


async def interleaved_round_trips(
    send: Callable[[str], Awaitable[object]],
    receive: Callable[[], Awaitable[str | bytes]],
    sig: Any,
    n: int,
) -> dict[str, list[float]]:
    """``n`` round trips of each kind, in blocks of `BLOCK`, the order reversed each block.

    ``send`` / ``receive`` are a bare client's (any library, any loop); ``sig`` an open
    ``Signaling``. Used by this worker and by ``roundtrip.py`` alike.
    """
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    counter = 0

    # Both sides are timed from the request's arguments to its answer: the bare client's
    # time includes making its ref, its client_id and its frame text, as the SDK's does.
    async def bare(event: str, data: Callable[[], dict[str, Any]]) -> float:
        nonlocal counter
        start = time.perf_counter()
        counter += 1
        ref = f"b{counter}"
        text = json.dumps({"event": event, "data": data(), "ref": ref}, separators=(",", ":"))
        await send(text)
        while True:
            frame = json.loads(await receive())
            if frame.get("ref") == ref and frame.get("event") == "ack":
                return time.perf_counter() - start

    def echo_data() -> dict[str, Any]:
        return PAYLOAD

    def send_data() -> dict[str, Any]:
        return {
            "client_id": str(uuid.uuid4()),
            "to": SEND_TO,
            "text": SEND_TEXT,
            "metadata": SEND_METADATA,
        }

    async def bare_echo() -> float:
        return await bare("bench.echo", echo_data)

    async def bare_send() -> float:
        return await bare("message.send", send_data)

    async def sdk_echo() -> float:
        start = time.perf_counter()
        await sig.request("bench.echo", PAYLOAD)
        return time.perf_counter() - start

    async def sdk_send() -> float:
        start = time.perf_counter()
        await sig.send_message(to=SEND_TO, text=SEND_TEXT, metadata=SEND_METADATA)
        return time.perf_counter() - start

    runners: list[tuple[str, Callable[[], Awaitable[float]]]] = [
        ("bare echo", bare_echo),
        ("sdk echo", sdk_echo),
        ("bare send", bare_send),
        ("sdk send", sdk_send),
    ]
    for _ in range(5):  # warm-up every path
        for _name, fn in runners:
            await fn()
    done = 0
    while done < n:
        for name, fn in runners:
            for _ in range(min(BLOCK, n - done)):
                samples[name].append(await fn())
        runners.reverse()
        done += BLOCK
    return samples


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def _readline() -> str:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)


# --- receive -------------------------------------------------------------------------------


@asynccontextmanager
async def _sdk_reader(ws_url: str, buffer: int) -> AsyncIterator[Reader]:
    from utd_trio import MessageReceived, PresenceChanged, open_signaling

    async def provider() -> dict[str, Any]:
        return {"user_token": "tok_bench", "ws_url": ws_url, "signaling_enabled": True}

    async with open_signaling(
        app_id="app_bench",
        user_id="alice",
        session_provider=provider,
        base_url="http://127.0.0.1:9",
    ) as sig:
        stream = sig.events(MessageReceived, PresenceChanged, buffer=buffer)

        async def read(kind: str, n: int) -> float:
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

        yield read
        assert stream.dropped == 0, "the SDK stream dropped events: buffer too small"


@asynccontextmanager
async def _websockets_reader(ws_url: str, max_queue: int) -> AsyncIterator[Reader]:
    from websockets.asyncio.client import connect

    async with connect(
        ws_url, compression=None, ping_interval=None, proxy=None, max_queue=max_queue
    ) as ws:
        await ws.recv()  # hello

        async def read(kind: str, n: int) -> float:
            prepare = {"event": "bench.prepare", "data": {"kind": kind, "n": n}, "ref": "p"}
            await ws.send(json.dumps(prepare))
            while json.loads(await ws.recv()).get("event") != "ack":
                pass
            recv, loads = ws.recv, json.loads
            start = time.perf_counter()
            await ws.send('{"event":"bench.blast","data":{},"ref":"b"}')
            for _ in range(n):
                loads(await recv())
            return time.perf_counter() - start

        yield read


async def receive(args: argparse.Namespace) -> None:
    import utd_trio

    readers: dict[str, Reader] = {}
    async with AsyncExitStack() as stack:
        for name in args.readers.split(","):
            if name == "sdk":
                cm = _sdk_reader(args.ws_url, args.buffer)
            elif name == "websockets":
                cm = _websockets_reader(args.ws_url, 16)
            elif name == "websockets-q256":
                cm = _websockets_reader(args.ws_url, 256)
            else:
                raise SystemExit(f"unknown reader {name!r}")
            readers[name] = await stack.enter_async_context(cm)
        _emit({"ready": list(readers), "utd_trio": utd_trio.__file__, "loop": args.loop})
        while line := await _readline():
            cmd = json.loads(line)
            elapsed = await readers[cmd["reader"]](cmd["kind"], int(cmd["n"]))
            _emit({"elapsed": elapsed})


# --- round trip ------------------------------------------------------------------------------


async def roundtrip(args: argparse.Namespace) -> None:
    from websockets.asyncio.client import connect

    from utd_trio import UTDApi, open_signaling

    info = json.loads(args.engine)
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    async with UTDApi(**creds) as api:
        session = await api.mint_session(f"rt_bare_{args.loop}")
    sep = "&" if "?" in session.ws_url else "?"
    url = f"{session.ws_url}{sep}token={session.user_token}"
    async with (
        connect(url, compression=None, ping_interval=None, proxy=None) as ws,
        open_signaling(user_id=f"rt_sdk_{args.loop}", **creds) as sig,
    ):
        await ws.recv()  # hello
        samples = await interleaved_round_trips(ws.send, ws.recv, sig, args.n)
    _emit({"samples": samples, "loop": args.loop})


# --- main ------------------------------------------------------------------------------------


# --- call ------------------------------------------------------------------------------------


async def call(args: argparse.Namespace) -> None:
    import importlib

    sys.path.append(_TREE)  # the benchmark module from this script's tree, after PYTHONPATH's
    module_name, _, name = args.function.partition(":")
    fn = getattr(importlib.import_module(module_name), name)
    _emit({"result": await fn(**json.loads(args.kwargs)), "loop": args.loop})


def run_on(loop: str, fn: Callable[[argparse.Namespace], Awaitable[None]], args: Any) -> None:
    """Run ``fn(args)`` on a fresh loop of the kind asked for (one per process)."""
    if loop == "trio":
        import trio

        trio.run(fn, args)
    elif loop == "asyncio":
        import asyncio

        asyncio.run(fn(args))  # type: ignore[arg-type]
    elif loop == "uvloop":
        import uvloop

        uvloop.run(fn(args))  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown loop {loop!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loop", choices=("trio", "asyncio", "uvloop"), required=True)
    sub = parser.add_subparsers(dest="mode", required=True)
    rec = sub.add_parser("receive")
    rec.add_argument("--ws-url", required=True)
    rec.add_argument("--readers", default="sdk")
    rec.add_argument("--buffer", type=int, default=20_016)
    rt = sub.add_parser("roundtrip")
    rt.add_argument("--engine", required=True, help="the engine server's JSON line")
    rt.add_argument("--n", type=int, default=3000)
    fn = sub.add_parser("call")
    fn.add_argument(
        "--function", required=True, help="MODULE:NAME, e.g. benchmarks.recovery:measure"
    )
    fn.add_argument("--kwargs", default="{}", help="its keyword arguments, a JSON object")
    args = parser.parse_args()
    modes = {"receive": receive, "roundtrip": roundtrip, "call": call}
    run_on(args.loop, modes[args.mode], args)


if __name__ == "__main__":
    main()
