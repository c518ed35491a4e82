"""Recovery: abrupt drop → `Connected` again, and stalled (half-open) socket → detection.

Runs the reference engine in-process (its control handle drops and stalls sockets), one
``open_signaling`` session, loopback only.

- drops: ``engine.drop_sockets(user, code=None)`` (TCP reset, no close frame); time until the
  next `Connected` (a new generation, after a fresh mint: flags come from that mint). Measured
  twice: with the default ``backoff_base`` (0.5 s: a drop reconnects after a random
  0–0.5 s full-jitter delay) and with ``backoff_base=0.005`` (the mechanics alone).
- stalls: ``engine.stall_sockets(user)`` (TCP stays open, nothing is sent or processed); time
  until the SDK publishes `Disconnected`. Must be ≤ heartbeat interval + heartbeat timeout.

    uv run python -m benchmarks.recovery [--smoke] [--drops 200] [--stalls 100]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Awaitable
from typing import Any

import trio

from utd_trio import Connected, Disconnected, open_signaling
from utd_trio.testing import open_engine

from ._common import Result, median, percentile

HEARTBEAT_INTERVAL = 0.5  # engine setting, sent in the hello
HEARTBEAT_TIMEOUT = 0.25  # open_signaling(heartbeat_timeout=)
STEP_CAP = 10.0  # no single drop or stall may take longer than this
TIME_CAP = 300.0
USER = "recovery_alice"


async def measure(drops: int, stalls: int, fast_backoff: float) -> dict[str, Any]:
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
                    with trio.fail_after(STEP_CAP):
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
                await trio.sleep(rng.uniform(0, HEARTBEAT_INTERVAL))
                with trio.fail_after(STEP_CAP):
                    start = time.perf_counter()
                    engine.stall_sockets(USER)
                    await lost.receive()
                    detect.append(time.perf_counter() - start)
                    await back.receive()
        out["stall"] = {"samples": detect}
    return out


async def run(
    *, smoke: bool = False, drops: int | None = None, stalls: int | None = None
) -> Result:
    drops = drops or (2 if smoke else 200)
    stalls = stalls or (1 if smoke else 100)
    command = "uv run python -m benchmarks.recovery" + (" --smoke" if smoke else "")
    result = Result("Recovery (#7.4)", command)
    with trio.fail_after(TIME_CAP):
        data = await measure(drops, stalls, fast_backoff=0.005)
    for label in ("default backoff", "fast backoff"):
        ms = [s * 1000 for s in data[label]["samples"]]
        base = data[label]["backoff_base"]
        result.add(f"drop → Connected, {label} ({base:g} s), median", median(ms), "ms")
        result.add(f"drop → Connected, {label} ({base:g} s), p99", percentile(ms, 99), "ms")
        result.notes.append(
            f"{label}: {data[label]['fresh']}/{drops} reconnects came with a fresh mint "
            "(engine mint count +1) and known flags"
        )
    bound = (HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT) * 1000
    ms = [s * 1000 for s in data["stall"]["samples"]]
    worst = max(ms)
    target = f"≤ {bound:g} ms (interval + timeout)"
    result.add("stall → Disconnected (detection), median", median(ms), "ms")
    result.add("stall → Disconnected (detection), p99", percentile(ms, 99), "ms", target)
    result.add("stall → Disconnected (detection), max", worst, "ms", target, worst <= bound + 20)
    result.notes.append(
        f"{drops} drops per backoff setting, {stalls} stalls; engine in-process (its control "
        f"handle drops/stalls sockets), heartbeat interval {HEARTBEAT_INTERVAL:g} s, "
        f"heartbeat_timeout {HEARTBEAT_TIMEOUT:g} s; the max is allowed 20 ms of scheduling "
        "slack over the bound."
    )
    result.raw = {
        k: {"median_ms": median(v["samples"]) * 1000, "n": len(v["samples"])}
        for k, v in data.items()
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--drops", type=int)
    parser.add_argument("--stalls", type=int)
    args = parser.parse_args()
    trio.run(lambda: _print(run(smoke=args.smoke, drops=args.drops, stalls=args.stalls)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
