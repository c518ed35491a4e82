"""Receive throughput: typed events/s through ``sig.events()`` vs a bare trio-websocket loop.

A separate server process (``benchmarks/_blast_server.py``) sends N realistic frames back to
back on request. Three readers take the same bursts from the same server, interleaved round
by round:

- ``bare``: ``trio_websocket.open_websocket_url`` with its default settings,
  ``get_message()`` + ``json.loads`` (the baseline of issue #3);
- ``bare-tuned``: the same loop with trio-websocket tuned as the SDK used it until it got its
  own transport (256-message queue, 64 KiB reads);
- ``transport``: the SDK's own transport (``utd_trio._transport._websocket.WebSocket``:
  the reading task parses, no reader task; text frames by its fast path) + ``json.loads``;
- ``transport-wsproto``: the same with the fast path off (every frame through wsproto), the
  transport as issue 18 measured it ("our own transport + json.loads": its ≥ 1.5× target);
- ``websockets-trio`` (only when ``websockets`` >= 14 with its Trio implementation is
  importable, e.g. ``uv run --with 'websockets>=16' ...``): the same loop on the alternative
  transport, to show what a change behind the transport seam would buy;
- ``sdk``: ``open_signaling`` → ``sig.events(MessageReceived | PresenceChanged)``, each frame
  decoded into a typed, frozen event record.

Other loops (issue 15), each in a process of its own (``_loop_worker.py``), its rounds
interleaved with the readers above:

- ``asyncio sdk`` / ``uvloop sdk``: the same SDK reader under ``asyncio.run`` / ``uvloop.run``;
- ``asyncio websockets`` / ``uvloop websockets``: the bare asyncio baseline,
  ``websockets.asyncio.client`` ``recv()`` + ``json.loads``, with its default 16-frame queue
  and with a 256-frame one (``-q256``); the SDK is compared with the faster of the two;
- with ``--baseline-tree PATH`` (a checkout of the SDK before a change, e.g.
  ``git worktree add /tmp/utd_base 4232de7``): ``trio sdk (this tree)`` and
  ``trio sdk (baseline)``, the Trio SDK reader in two worker processes, one importing
  ``utd_trio`` from this tree and one from PATH (``PYTHONPATH``); the same pair for every
  loop of ``--loops`` (``asyncio sdk (baseline)``, ...).

Figure: median events/s of each reader; ratios sdk/bare and sdk/bare-tuned; per loop, SDK / best
bare ``websockets``; this tree / baseline.

    uv run python -m benchmarks.receive [--smoke] [--n 20000] [--rounds 7]
        [--loops asyncio,uvloop] [--baseline-tree /tmp/utd_base]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import trio
import trio_websocket

from utd_trio import MessageReceived, PresenceChanged, open_signaling
from utd_trio._transport._connect import _MAX_MESSAGE, _RECEIVE_BUFFER
from utd_trio._transport._websocket import WebSocket

from ._common import (
    LoopWorker,
    Result,
    available_loops,
    loop_worker,
    median,
    paired_ratios,
    server_process,
)

# trio-websocket as the SDK tuned it before it had its own transport.
_TUNED_QUEUE = 256

TIME_CAP = 900.0  # seconds for the whole benchmark (a loaded 2-core machine: ~5 min)


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
async def _transport(ws_url: str, *, fast_path: bool = True) -> AsyncIterator[WebSocket]:
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
            fast_path=fast_path,
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


def _worker_reader(worker: LoopWorker, name: str) -> Callable[[str, int], Awaitable[float]]:
    async def run(kind: str, n: int) -> float:
        answer = await worker.call({"reader": name, "kind": kind, "n": n})
        return float(answer["elapsed"])

    return run


def _tree_commit(path: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", path, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return path
    return out.stdout.strip()


def _baseline_loops(loops: tuple[str, ...]) -> tuple[str, ...]:
    """The loops whose SDK reader is run from both trees (`--baseline-tree`): Trio and ``loops``."""
    return ("trio", *(loop for loop in loops if loop != "trio"))


async def measure(
    ws_url: str,
    *,
    n: int,
    rounds: int,
    kinds: tuple[str, ...],
    loops: tuple[str, ...] = (),
    baseline_tree: str | None = None,
    notes: list[str] | None = None,
    progress: bool = False,
) -> dict[str, dict[str, list[float]]]:
    """Events/s of each reader, per kind, one entry per round."""
    rates: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}

    async def provider() -> dict[str, Any]:
        return {"user_token": "tok_bench", "ws_url": ws_url, "signaling_enabled": True}

    async with AsyncExitStack() as workers:
        worker_readers: dict[str, Callable[[str, int], Awaitable[float]]] = {}
        buffer = ["--buffer", str(n + 16)]
        for loop in loops:
            names = ("sdk", "websockets", "websockets-q256")
            worker = await workers.enter_async_context(
                loop_worker(
                    loop, loop, "receive", "--ws-url", ws_url, "--readers", ",".join(names), *buffer
                )
            )
            for name in names:
                worker_readers[f"{loop} {name}"] = _worker_reader(worker, name)
        if baseline_tree is not None:
            for loop in _baseline_loops(loops):
                for label, tree in (("this tree", None), ("baseline", baseline_tree)):
                    worker = await workers.enter_async_context(
                        loop_worker(
                            f"{loop} {label}",
                            loop,
                            "receive",
                            "--ws-url",
                            ws_url,
                            "--readers",
                            "sdk",
                            *buffer,
                            pythonpath=tree,
                        )
                    )
                    if notes is not None:
                        source = worker.info["utd_trio"]
                        notes.append(f"{loop} sdk ({label}): utd_trio from `{source}`")
                    worker_readers[f"{loop} sdk ({label})"] = _worker_reader(worker, "sdk")
        async with (
            trio_websocket.open_websocket_url(ws_url) as plain,
            trio_websocket.open_websocket_url(
                ws_url, message_queue_size=_TUNED_QUEUE, receive_buffer_size=_RECEIVE_BUFFER
            ) as tuned,
            _transport(ws_url) as own,
            _transport(ws_url, fast_path=False) as own_wsproto,
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
                "transport-wsproto": transport_reader(own_wsproto),
                "sdk": sdk,
            }
            if alt is not None:
                readers["websockets-trio"] = websockets_reader(alt)
            readers |= worker_readers
            order = list(readers)
            for r in range(rounds):
                for kind in kinds:
                    # Rotate who goes first so drift on a shared machine hits all readers alike.
                    k = r % len(order)
                    for name in order[k:] + order[:k]:
                        elapsed = await readers[name](kind, n)
                        rates[kind].setdefault(name, []).append(n / elapsed)
                    if progress:
                        print(f"receive: round {r + 1}/{rounds} {kind} done", file=sys.stderr)
            assert stream.dropped == 0, "the SDK stream dropped events: buffer too small"
    return rates


async def run(
    *,
    smoke: bool = False,
    n: int | None = None,
    rounds: int | None = None,
    loops: tuple[str, ...] | None = None,
    baseline_tree: str | None = None,
) -> Result:
    n = n or (200 if smoke else 20_000)
    rounds = rounds or (1 if smoke else 7)
    loops = available_loops() if loops is None else loops
    kinds = ("message", "presence")
    command = "uv run python -m benchmarks.receive" + (" --smoke" if smoke else "")
    if baseline_tree is not None:
        command += f" --baseline-tree {baseline_tree}"
    result = Result("Receive throughput (issue #3 / #7.1 / #15)", command)
    notes: list[str] = []
    with trio.fail_after(TIME_CAP):
        async with server_process("_blast_server") as info:
            rates = await measure(
                info["ws_url"],
                n=n,
                rounds=rounds,
                kinds=kinds,
                loops=loops,
                baseline_tree=baseline_tree,
                notes=notes,
                progress=not smoke,
            )
    for kind in kinds:
        med = {name: median(values) for name, values in rates[kind].items()}
        ratio = med["sdk"] / med["bare"]
        result.add(f"{kind}: bare trio-websocket (defaults)", med["bare"], "events/s")
        result.add(f"{kind}: bare trio-websocket (tuned)", med["bare-tuned"], "events/s")
        own, own_wsproto = med["transport"], med["transport-wsproto"]
        result.add(f"{kind}: bare SDK transport (fast path, no reader task)", own, "events/s")
        result.add(f"{kind}: bare SDK transport, wsproto only", own_wsproto, "events/s")
        result.add(f"{kind}: SDK typed events", med["sdk"], "events/s")
        verdict = None if smoke else ratio >= 1.0
        result.add(f"{kind}: SDK / bare", ratio, "x", "≥ 1.0× (floor 0.8×)", verdict)
        result.add(f"{kind}: SDK / bare trio-websocket tuned", med["sdk"] / med["bare-tuned"], "x")
        result.add(f"{kind}: SDK / bare SDK transport (fast path)", med["sdk"] / own, "x")
        label = f"{kind}: SDK / bare SDK transport, wsproto only (issue 18)"
        _add_target(result, label, rates[kind], "sdk", ["transport-wsproto"], 1.5, smoke)
        if "websockets-trio" in med:
            alt = med["websockets-trio"]
            result.add(f"{kind}: bare websockets.trio (alternative transport)", alt, "events/s")
            result.add(f"{kind}: websockets.trio / bare trio-websocket", alt / med["bare"], "x")
        for loop in loops:
            plain, q256 = med[f"{loop} websockets"], med[f"{loop} websockets-q256"]
            sdk_rate = med[f"{loop} sdk"]
            result.add(f"{kind}: {loop}: bare websockets (defaults)", plain, "events/s")
            result.add(f"{kind}: {loop}: bare websockets (max_queue 256)", q256, "events/s")
            result.add(f"{kind}: {loop}: SDK typed events", sdk_rate, "events/s")
            bare = [f"{loop} websockets", f"{loop} websockets-q256"]
            label = f"{kind}: {loop}: SDK / best bare websockets (issue 18)"
            _add_target(result, label, rates[kind], f"{loop} sdk", bare, 1.0, smoke)
        if baseline_tree is not None:
            base = _tree_commit(baseline_tree)
            for loop in _baseline_loops(loops):
                now, before = med[f"{loop} sdk (this tree)"], med[f"{loop} sdk (baseline)"]
                name = f"{kind}: {loop}: SDK"
                result.add(f"{name} typed events, this tree (worker)", now, "events/s")
                result.add(f"{name} typed events, baseline {base} (worker)", before, "events/s")
                label = f"{name} this tree / baseline {base}"
                this, pair = f"{loop} sdk (this tree)", [f"{loop} sdk (baseline)"]
                _add_target(result, label, rates[kind], this, pair, 0.95, smoke)
        result.raw[kind] = rates[kind]
    result.notes.append(
        f"{n:,} frames per burst, {rounds} rounds, readers interleaved; median of rounds. A "
        "target is checked against the median of the per-round ratios (a round's readers run "
        "within seconds of each other, so its ratio cancels the machine's drift between "
        "rounds; against the baseline with the best median, paired round by round); the "
        "ratio of medians is shown with it. "
        "Server: separate process (trio + wsproto), frames pre-built and written in 256 KiB "
        "chunks; message ≈ 400 B (`message.new`), presence ≈ 110 B (`presence.update`)."
    )
    if loops or baseline_tree is not None:
        result.notes.append(
            "Other loops and trees: one worker process each (`benchmarks/_loop_worker.py`: "
            "`asyncio.run`, `uvloop.run`, `trio.run`), every round interleaved with the "
            "in-process Trio readers; the time is taken inside the worker (blast request to "
            "last frame), so the pipe to the worker is not counted."
        )
    result.notes += notes
    return result


def _add_target(
    result: Result,
    label: str,
    rates: dict[str, list[float]],
    subject: str,
    baselines: list[str],
    target: float,
    smoke: bool,
) -> None:
    """``subject`` ÷ the best of ``baselines`` with a target: the median of the per-round
    ratios (the verdict), and the ratio of the medians shown with it.

    The best baseline is the one with the higher median, chosen once; it is then paired round
    by round. (Taking the faster of two baselines in each round would pick the luckier of two
    noisy samples of the same client, and bias the ratio against the subject.)
    """
    best = max(baselines, key=lambda name: median(rates[name]))
    per_round = paired_ratios(rates[subject], rates[best])
    of_medians = median(rates[subject]) / median(rates[best])
    paired = median(per_round)
    ok = None if smoke else paired >= target
    result.add(f"{label}, median of per-round ratios", paired, "x", f"≥ {target}×", ok)
    result.add(f"{label}, lowest per-round ratio", min(per_round), "x")
    result.add(f"{label}, highest per-round ratio", max(per_round), "x")
    result.add(f"{label}, ratio of medians", of_medians, "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--n", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument(
        "--loops",
        help="other loops, comma-separated (default: asyncio, and uvloop where installed; "
        "'' for none)",
    )
    parser.add_argument(
        "--baseline-tree",
        metavar="PATH",
        help="also run the Trio SDK reader from this source tree (e.g. a `git worktree` of "
        "the commit before a change), interleaved with this tree's",
    )
    args = parser.parse_args()
    loops = None if args.loops is None else tuple(x for x in args.loops.split(",") if x)
    trio.run(
        lambda: _print(
            run(
                smoke=args.smoke,
                n=args.n,
                rounds=args.rounds,
                loops=loops,
                baseline_tree=args.baseline_tree,
            )
        )
    )


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
