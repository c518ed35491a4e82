"""Recovery: abrupt drop → `Connected` again, and stalled (half-open) socket → detection.

Runs the reference engine in-process (its control handle drops and stalls sockets), one
``open_signaling`` session, loopback only.

- drops: ``engine.drop_sockets(user, code=None)`` (TCP reset, no close frame); time until the
  next `Connected` (a new generation, after a fresh mint: flags come from that mint). Measured
  twice: with the default ``backoff_base`` (0.5 s: a drop reconnects after a random
  0–0.5 s full-jitter delay) and with ``backoff_base=0.005`` (the mechanics alone).
- stalls: ``engine.stall_sockets(user)`` (TCP stays open, nothing is sent or processed); time
  until the SDK publishes `Disconnected`. Must be ≤ heartbeat interval + heartbeat timeout.

Other loops (issue 18: every benchmark has Trio and asyncio rows): the same measurement
(`measure`, written in anyio) in a worker process per loop (``_loop_worker.py call``:
``asyncio.run``, and ``uvloop.run`` where installed), engine and session on that loop, after
the Trio run.

    uv run python -m benchmarks.recovery [--smoke] [--drops 200] [--stalls 100]
        [--loops asyncio,uvloop]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Awaitable
from typing import Any

import anyio
import trio

from utd_trio import Connected, Disconnected, open_signaling
from utd_trio.testing import open_engine

from ._common import Result, available_loops, call_on_loop, median, percentile

HEARTBEAT_INTERVAL = 0.5  # engine setting, sent in the hello
HEARTBEAT_TIMEOUT = 0.25  # open_signaling(heartbeat_timeout=)
STEP_CAP = 10.0  # no single drop or stall may take longer than this
TIME_CAP = 300.0
USER = "recovery_alice"


async def measure(drops: int, stalls: int, fast_backoff: float) -> dict[str, Any]:
    """Drops and stalls against an in-process engine, on the running loop (Trio or asyncio)."""
    out: dict[str, Any] = {}
    async with open_engine(heartbeat_interval=HEARTBEAT_INTERVAL, mint_rate_limit=None) as engine:
        project = engine.default_project
        creds = {
            "app_id": project.app_id,
            "app_key": project.app_key,
            "base_url": engine.base_url,
            "user_id": USER,
            "heartbeat_timeout": HEARTBEAT_TIMEOUT,
        }
        for label, base in (("default backoff", 0.5), ("fast backoff", fast_backoff)):
            samples: list[float] = []
            fresh = 0
            async with open_signaling(**creds, backoff_base=base) as sig:
                stream = sig.events(Connected)
                for _ in range(drops):
                    mints = engine.mint_count(USER)
                    with anyio.fail_after(STEP_CAP):
                        start = time.perf_counter()
                        await engine.drop_sockets(USER, code=None)
                        event = await stream.receive()
                        samples.append(time.perf_counter() - start)
                    assert isinstance(event, Connected)
                    fresh += engine.mint_count(USER) > mints and event.signaling_enabled is not None
            out[label] = {"samples": samples, "fresh": fresh, "backoff_base": base}
        detect: list[float] = []
        async with open_signaling(**creds, backoff_base=fast_backoff) as sig:
            lost = sig.events(Disconnected)
            back = sig.events(Connected)
            rng = random.Random(7)
            for _ in range(stalls):
                # Stall at a random point of the ping cycle, not right after a reconnect.
                await anyio.sleep(rng.uniform(0, HEARTBEAT_INTERVAL))
                with anyio.fail_after(STEP_CAP):
                    start = time.perf_counter()
                    engine.stall_sockets(USER)
                    await lost.receive()
                    detect.append(time.perf_counter() - start)
                    await back.receive()
        out["stall"] = {"samples": detect}
    return out


async def run(
    *,
    smoke: bool = False,
    drops: int | None = None,
    stalls: int | None = None,
    loops: tuple[str, ...] | None = None,
) -> Result:
    drops = drops or (2 if smoke else 200)
    stalls = stalls or (1 if smoke else 100)
    loops = available_loops() if loops is None else loops
    command = "uv run python -m benchmarks.recovery" + (" --smoke" if smoke else "")
    result = Result("Recovery (#7.4)", command)
    per_loop: dict[str, dict[str, Any]] = {}
    with trio.fail_after(TIME_CAP * (1 + len(loops))):
        per_loop["trio"] = await measure(drops, stalls, fast_backoff=0.005)
        for loop in loops:
            if not smoke:
                print(f"recovery: {loop} ...", file=sys.stderr)
            kwargs = {"drops": drops, "stalls": stalls, "fast_backoff": 0.005}
            per_loop[loop] = await call_on_loop(loop, "benchmarks.recovery:measure", **kwargs)
    for loop, data in per_loop.items():
        _add_figures(result, data, "" if loop == "trio" else f"{loop}: ", drops)
    result.notes.append(
        f"{drops} drops per backoff setting, {stalls} stalls; engine in-process (its control "
        f"handle drops/stalls sockets), heartbeat interval {HEARTBEAT_INTERVAL:g} s, "
        f"heartbeat_timeout {HEARTBEAT_TIMEOUT:g} s; the max is allowed 20 ms of scheduling "
        "slack over the bound."
    )
    if loops:
        result.notes.append(
            "Other loops: "
            + ", ".join(f"`{loop}`" for loop in loops)
            + ": a worker process each (`benchmarks/_loop_worker.py call`), engine and session "
            "on that loop (hypercorn's asyncio server), run after the Trio figures."
        )
    result.raw = {
        loop: {
            k: {"median_ms": median(v["samples"]) * 1000, "n": len(v["samples"])}
            for k, v in data.items()
        }
        for loop, data in per_loop.items()
    }
    return result


def _add_figures(result: Result, data: dict[str, Any], prefix: str, drops: int) -> None:
    for label in ("default backoff", "fast backoff"):
        ms = [s * 1000 for s in data[label]["samples"]]
        base = data[label]["backoff_base"]
        name = f"{prefix}drop → Connected, {label} ({base:g} s)"
        result.add(f"{name}, median", median(ms), "ms")
        result.add(f"{name}, p99", percentile(ms, 99), "ms")
        result.notes.append(
            f"{prefix}{label}: {data[label]['fresh']}/{drops} reconnects came with a fresh "
            "mint (engine mint count +1) and known flags"
        )
    bound = (HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT) * 1000
    ms = [s * 1000 for s in data["stall"]["samples"]]
    worst = max(ms)
    target = f"≤ {bound:g} ms (interval + timeout)"
    name = f"{prefix}stall → Disconnected (detection)"
    result.add(f"{name}, median", median(ms), "ms")
    result.add(f"{name}, p99", percentile(ms, 99), "ms", target)
    result.add(f"{name}, max", worst, "ms", target, worst <= bound + 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--drops", type=int)
    parser.add_argument("--stalls", type=int)
    parser.add_argument(
        "--loops",
        help="other loops, comma-separated (default: asyncio, and uvloop where installed; "
        "'' for none)",
    )
    args = parser.parse_args()
    loops = None if args.loops is None else tuple(x for x in args.loops.split(",") if x)
    trio.run(
        lambda: _print(run(smoke=args.smoke, drops=args.drops, stalls=args.stalls, loops=loops))
    )


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
