"""Request round trip: an acked SDK request vs a bare WebSocket round trip on the same path.

The reference engine runs in a separate process with a registered ``bench.echo`` handler
(chat's ``send_message`` had not landed when this was written; the echo handler goes through
the same engine path: socket reader → frame decode → handler → ack). Two clients of the same
engine, interleaved in blocks:

- ``bare``: trio-websocket with default settings; ``send_message(json.dumps(frame))`` then
  ``get_message()`` + ``json.loads`` until the ack with that ``ref``;
- ``sdk``: ``await sig.request("bench.echo", payload)`` on an ``open_signaling`` session.

Figures: median and p99 latency of each; ratio SDK/bare.

    uv run python -m benchmarks.roundtrip [--smoke] [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable
from typing import Any

import trio
import trio_websocket

from utd_trio import UTDApi, open_signaling
from utd_trio._protocol._urls import ws_url_with_token

from ._common import Result, median, percentile, server_process

TIME_CAP = 120.0
BLOCK = 100
PAYLOAD = {
    "to": "bob",
    "text": "Hey Bob, the build is green again; merging the release branch now.",
    "client_id": "c_7f3a9b2e-4d1c-4e8a-9f6b-2a1c3d4e5f60",
    "metadata": {"thread": "release"},
}


async def measure(info: dict[str, Any], n: int) -> dict[str, list[float]]:
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    async with UTDApi(**creds) as api:
        session = await api.mint_session("rt_bare")
    url = ws_url_with_token(session.ws_url, session.user_token)
    samples: dict[str, list[float]] = {"bare": [], "sdk": []}
    async with (
        trio_websocket.open_websocket_url(url) as ws,
        open_signaling(user_id="rt_sdk", **creds) as sig,
    ):
        await ws.get_message()  # hello
        counter = 0

        async def bare() -> float:
            nonlocal counter
            counter += 1
            ref = f"b{counter}"
            text = json.dumps(
                {"event": "bench.echo", "data": PAYLOAD, "ref": ref}, separators=(",", ":")
            )
            start = time.perf_counter()
            await ws.send_message(text)
            while True:
                frame = json.loads(await ws.get_message())
                if frame.get("ref") == ref and frame.get("event") == "ack":
                    return time.perf_counter() - start

        async def sdk() -> float:
            start = time.perf_counter()
            await sig.request("bench.echo", PAYLOAD)
            return time.perf_counter() - start

        for _ in range(5):  # warm-up both paths
            await bare()
            await sdk()
        runners = [("bare", bare), ("sdk", sdk)]
        done = 0
        while done < n:
            for name, fn in runners:
                for _ in range(min(BLOCK, n - done)):
                    samples[name].append(await fn())
            runners.reverse()
            done += BLOCK
    return samples


async def run(*, smoke: bool = False, n: int | None = None) -> Result:
    n = n or (20 if smoke else 3000)
    command = "uv run python -m benchmarks.roundtrip" + (" --smoke" if smoke else "")
    result = Result("Request round trip (#7.2)", command)
    with trio.fail_after(TIME_CAP):
        async with server_process("_engine_server") as info:
            samples = await measure(info, n)
    us = {k: [s * 1e6 for s in v] for k, v in samples.items()}
    med = {k: median(v) for k, v in us.items()}
    p99 = {k: percentile(v, 99) for k, v in us.items()}
    ratio = med["sdk"] / med["bare"]
    result.add("bare WebSocket round trip, median", med["bare"], "µs")
    result.add("bare WebSocket round trip, p99", p99["bare"], "µs")
    result.add("SDK acked request, median", med["sdk"], "µs")
    result.add("SDK acked request, p99", p99["sdk"], "µs")
    result.add("SDK / bare, median", ratio, "x", "≤ 1.2×", None if smoke else ratio <= 1.2)
    result.add("SDK / bare, p99", p99["sdk"] / p99["bare"], "x")
    result.notes.append(
        f"{n:,} requests per client in blocks of {BLOCK}, alternating; engine (hypercorn + "
        "starlette) in a separate process; request = `bench.echo` (registered WS handler), "
        "not `send_message` (chat had not landed), same engine path."
    )
    result.raw = {k: {"median_us": med[k], "p99_us": p99[k]} for k in us}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    trio.run(lambda: _print(run(smoke=args.smoke, n=args.n)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
