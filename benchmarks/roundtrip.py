"""Request round trip: an acked SDK request vs a bare WebSocket round trip on the same path.

The reference engine runs in a separate process with a registered ``bench.echo`` handler.
Two clients of the same engine, interleaved in blocks, each doing two kinds of request:

- ``bare``: trio-websocket with default settings; ``send_message(json.dumps(frame))`` then
  ``get_message()`` + ``json.loads`` until the ack with that ``ref``;
- ``sdk``: an ``open_signaling`` session.

Requests:

- ``echo``: ``bench.echo`` (the handler returns its input): ``await sig.request(...)`` vs the
  bare frame;
- ``send``: a chat message to a user who is not connected (stored, no fan-out):
  ``await sig.send_message(to=..., text=..., metadata=...)`` (validation, a fresh
  ``client_id``, request, ack parsed into a ``ChatMessage``) vs a bare ``message.send`` frame
  with a fresh ``client_id`` of its own (the engine's message path: idempotency lookup,
  store, ack).

Other loops (issue 15): the same four, interleaved the same way, in a worker process per loop
(``_loop_worker.py roundtrip``: ``asyncio.run``, and ``uvloop.run`` where installed) against the
same engine process, after the Trio run; there the bare client is ``websockets``
(``websockets.asyncio.client``, ``send`` then ``recv()`` + ``json.loads`` until the ack), the
best bare asyncio client.

Both are timed from the request's arguments to its answer: the bare client's time includes
making its ``ref``, its ``client_id`` (``uuid4``) and its frame text (``json.dumps``), as
the SDK's includes its own (until 2026-12-02 the bare clock started after those).

Figures: median and p99 latency of each; ratios SDK/bare, per loop.

    uv run python -m benchmarks.roundtrip [--smoke] [--n 3000] [--loops asyncio,uvloop]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable
from typing import Any

import trio
import trio_websocket

from utd_trio import UTDApi, open_signaling
from utd_trio._protocol._urls import ws_url_with_token

from ._common import Result, available_loops, loop_worker, median, percentile, server_process
from ._loop_worker import BLOCK, SEND_TEXT, interleaved_round_trips

TARGET = 1.1  # issue 18: an acked request within 1.1x a bare round trip (issue 7 had 1.2x)
TIME_CAP = 600.0  # three loops' runs; a loaded 2-core machine took over 2 min


async def measure(info: dict[str, Any], n: int) -> dict[str, list[float]]:
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    async with UTDApi(**creds) as api:
        session = await api.mint_session("rt_bare")
    url = ws_url_with_token(session.ws_url, session.user_token)
    async with (
        trio_websocket.open_websocket_url(url) as ws,
        open_signaling(user_id="rt_sdk", **creds) as sig,
    ):
        await ws.get_message()  # hello
        samples = await interleaved_round_trips(ws.send_message, ws.get_message, sig, n)
    return samples


async def measure_loop(info: dict[str, Any], n: int, loop: str) -> dict[str, list[float]]:
    """The same interleaved round trips in a worker process running ``loop``."""
    engine = json.dumps({k: info[k] for k in ("base_url", "app_id", "app_key")})
    args = ("roundtrip", "--engine", engine, "--n", str(n))
    async with loop_worker(loop, loop, *args) as worker:
        answer = await worker.read()
    samples: dict[str, list[float]] = answer["samples"]
    return samples


async def run(
    *, smoke: bool = False, n: int | None = None, loops: tuple[str, ...] | None = None
) -> Result:
    n = n or (20 if smoke else 3000)
    loops = available_loops() if loops is None else loops
    command = "uv run python -m benchmarks.roundtrip" + (" --smoke" if smoke else "")
    result = Result("Request round trip (#7.2 / #15)", command)
    per_loop: dict[str, dict[str, list[float]]] = {}
    with trio.fail_after(TIME_CAP):
        async with server_process("_engine_server") as info:
            per_loop["trio"] = await measure(info, n)
            for loop in loops:
                if not smoke:
                    print(f"roundtrip: {loop} ...", file=sys.stderr)
                per_loop[loop] = await measure_loop(info, n, loop)
    for loop, samples in per_loop.items():
        _add_figures(result, samples, "" if loop == "trio" else f"{loop}: ", smoke)
    result.notes.append(
        f"{n:,} requests per client and kind in blocks of {BLOCK}, the four (bare echo, SDK "
        "echo, bare send, SDK send) alternating, order reversed each block; engine (hypercorn "
        "+ starlette) in a separate process. echo = `bench.echo` (registered WS handler); "
        f"send = a {len(SEND_TEXT)}-character chat message with metadata to a user who is not "
        "connected (stored and acked, no fan-out), a fresh `client_id` each time on both sides."
    )
    if loops:
        result.notes.append(
            "Other loops: "
            + ", ".join(f"`{loop}`" for loop in loops)
            + ": a worker process each (`benchmarks/_loop_worker.py roundtrip`), run after the "
            "Trio figures against the same engine process; same four kinds, blocks and order; "
            "the bare client there is `websockets` (`websockets.asyncio.client`, no "
            "compression, no keepalive pings)."
        )
    for loop, samples in per_loop.items():
        for k, v in samples.items():
            us = [s * 1e6 for s in v]
            key = k if loop == "trio" else f"{loop} {k}"
            result.raw[key] = {"median_us": median(us), "p99_us": percentile(us, 99)}
    return result


def _add_figures(result: Result, samples: dict[str, list[float]], prefix: str, smoke: bool) -> None:
    us = {k: [s * 1e6 for s in v] for k, v in samples.items()}
    med = {k: median(v) for k, v in us.items()}
    p99 = {k: percentile(v, 99) for k, v in us.items()}
    bare_name = "bare WebSocket" if not prefix else "bare websockets"
    for kind, what, sdk_label in (
        ("echo", "`bench.echo`", "SDK acked request"),
        ("send", "`message.send`", "SDK send_message ack"),
    ):
        bare_k, sdk_k = f"bare {kind}", f"sdk {kind}"
        ratio = med[sdk_k] / med[bare_k]
        pre = f"{prefix}{kind}: "
        result.add(f"{pre}{bare_name} {what} round trip, median", med[bare_k], "µs")
        result.add(f"{pre}{bare_name} {what} round trip, p99", p99[bare_k], "µs")
        result.add(f"{pre}{sdk_label}, median", med[sdk_k], "µs")
        result.add(f"{pre}{sdk_label}, p99", p99[sdk_k], "µs")
        ok = None if smoke else ratio <= TARGET
        result.add(f"{pre}SDK / bare, median", ratio, "x", f"≤ {TARGET}×", ok)
        result.add(f"{pre}SDK / bare, p99", p99[sdk_k] / p99[bare_k], "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--n", type=int)
    parser.add_argument(
        "--loops",
        help="other loops, comma-separated (default: asyncio, and uvloop where installed; "
        "'' for none)",
    )
    args = parser.parse_args()
    loops = None if args.loops is None else tuple(x for x in args.loops.split(",") if x)
    trio.run(lambda: _print(run(smoke=args.smoke, n=args.n, loops=loops)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
