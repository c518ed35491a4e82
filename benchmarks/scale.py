"""Scale: N concurrent `open_signaling` sessions in one process, heartbeats on, per loop.

For each loop (``trio`` and ``asyncio`` by default; ``uvloop`` on request, where installed),
variant and N (100, 1,000 and 5,000 by default) a fresh worker process opens N sessions
(distinct users) against the reference engine, itself in another fresh process, with the
contract's heartbeat interval (25 s, protocol §5; ``--heartbeat`` changes it, e.g. 1 s as a
stress test). The worker is one anyio code path started with ``anyio.run(backend=...)``
(uvloop: the asyncio backend with ``use_uvloop``), so the loops differ in nothing but the loop.
It reports:

- resident memory per session: (RSS with N sessions − RSS before) / N;
- the connect phase: its wall time, and the CPU the worker and the engine each spent from
  just before the first session starts connecting until every one is in (the figure
  "engine CPU / client CPU", and each as % of a core in the notes: a process near 100 % of
  a core is the one that bounds the connect time; if neither is, it is bounded by waiting —
  the 64-wide opening gate, round trips, or the two sharing too few cores);
- idle CPU of the worker over a window of two heartbeat intervals (every session pings
  twice in it): % of one core, and per heartbeat (µs); wake-ups per heartbeat (the worker's
  voluntary context switches in the window: each is a block in the loop's wait that a
  timer or an arrival ended, a cost the machine charges whatever the code does);
- whether every session stayed connected with no reconnect.

Variants: ``own-http`` (each session makes its own httpx client: the default; up to
N = 1,000), ``shared-http`` (one ``http_client=`` passed to every session, what a load-test
harness would do) and the baseline ``bare`` (on request): the same N users kept connected
without the SDK, with the loop's usual bare WebSocket library, a reader and a ping task per
connection (``_bare_idle.py``). When a run measures ``bare`` and a session variant at the
same loop and N, it also prints their ratios (idle CPU per heartbeat, memory per session):
the machine's cost of a wake-up is in both, so the ratio is what the SDK itself adds or
saves. Linearity, per (loop, variant): per-session cost at each N over that at the N before
it. ``--smoke``: N = 5, shared-http, trio and asyncio (a few seconds).

CPU placement (``--pin``, the default where the process may use two CPUs or more): the engine
is pinned to one CPU and the worker to another, as if each had a host of its own. Left to the
scheduler on this project's 2-vCPU machine, one idle run in three measured 5-10x the system
time per heartbeat of the others (the same code, back to back): a profile (``perf record
-e cpu-clock``) put a quarter of the worker's CPU in the hypervisor's spin-lock slow path of
the socket lock taken by ``recv`` (``__pv_queued_spin_lock_slowpath`` under
``lock_sock_nested``, against the engine's loopback send into the same socket), and a fifth
in waking from ``epoll_wait``. Pinned either way, every run came out low. ``--no-pin`` leaves
placement to the scheduler.

    uv run python -m benchmarks.scale [--smoke] [--sizes 100,1000,5000] [--heartbeat 25]
        [--variants own-http,shared-http,bare] [--loops trio,asyncio,uvloop] [--no-pin]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import itertools
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import anyio
import httpx
import trio

from utd_trio import ConnectionState, Signaling, UTDApi, open_signaling

from ._bare_idle import BareConnection, bare_connection
from ._common import (
    ROOT,
    Result,
    blocking_waits,
    cpu_seconds,
    raise_fd_limit,
    rss_bytes,
    server_process,
)
from ._scale_report import BARE, DEFAULT_INTERVAL, add_ratios, against_bare, report_row

OPEN_CONCURRENCY = 64
OWN_HTTP_MAX = 1000  # own-http: an httpx client per session (the TLS context is shared)
DEFAULT_SIZES = (100, 1000, 5000)
LOOPS = ("trio", "asyncio", "uvloop")
DEFAULT_LOOPS = ("trio", "asyncio")


class _GCTimer:
    """A `gc.callbacks` hook: time spent in collections, and how many were full ones."""

    def __init__(self) -> None:
        self.total = 0.0
        self.full = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start
            self.full += info["generation"] == 2


async def worker(
    info: dict[str, Any],
    loop: str,
    n: int,
    variant: str,
    window: float,
    connect_cap: float,
    settle: float,
) -> dict[str, Any]:
    """Open n sessions, measure, close them; runs in its own process, on any anyio backend."""
    raise_fd_limit(max(4 * n + 256, 1024))
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    shared = httpx.AsyncClient() if variant in ("shared-http", BARE) else None
    api = UTDApi(**creds, http_client=shared) if variant == BARE else None
    gc.collect()
    rss0 = rss_bytes()
    sigs: list[Signaling | BareConnection] = []
    failures: list[str] = []
    stop = anyio.Event()
    all_in = anyio.Event()
    gate = anyio.Semaphore(OPEN_CONCURRENCY)

    def settled() -> None:
        if len(sigs) + len(failures) >= n:
            all_in.set()

    def open_one(i: int) -> contextlib.AbstractAsyncContextManager[Signaling | BareConnection]:
        if api is not None:
            return bare_connection(api, f"scale_{i:05d}")
        extra: dict[str, Any] = {"http_client": shared} if shared is not None else {}
        return open_signaling(user_id=f"scale_{i:05d}", **creds, **extra)

    async def one(i: int) -> None:
        await gate.acquire()
        held = True
        try:
            async with open_one(i) as sig:
                gate.release()
                held = False
                sigs.append(sig)
                settled()
                await stop.wait()
        except Exception as exc:
            failures.append(repr(exc)[:200])
            settled()
        finally:
            if held:
                gate.release()

    result: dict[str, Any] = {"loop": loop, "n": n, "variant": variant}
    async with anyio.create_task_group() as tg:
        cpu0, engine0, t0 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
        for i in range(n):
            tg.start_soon(one, i)
        with anyio.move_on_after(connect_cap):
            await all_in.wait()
        cpu1, engine1, t1 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
        result["connect_seconds"] = t1 - t0
        result["connect_cpu_seconds"] = cpu1 - cpu0
        result["connect_engine_cpu_seconds"] = engine1 - engine0
        result["connected"] = len(sigs)
        await anyio.sleep(settle)  # let the first heartbeats and allocator settle
        gc.collect()
        result["rss_delta_bytes"] = rss_bytes() - rss0
        reconnects0 = sum(s.reconnects for s in sigs)
        gc_time = _GCTimer()
        gc.callbacks.append(gc_time)
        cpu0, engine0, w0 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
        waits0 = blocking_waits()
        await anyio.sleep(window)
        waits1 = blocking_waits()
        cpu1, engine1, w1 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
        gc.callbacks.remove(gc_time)
        result["gc_seconds"] = gc_time.total
        result["gc_full_collections"] = gc_time.full
        result["window"] = w1 - w0
        result["cpu_seconds"] = cpu1 - cpu0
        result["wakes"] = waits1 - waits0
        result["engine_cpu_seconds"] = engine1 - engine0
        result["reconnects"] = sum(s.reconnects for s in sigs) - reconnects0
        result["frames_sent"] = sum(_frames_sent(s) for s in sigs)
        result["still_connected"] = sum(_connected(s) for s in sigs)
        stop.set()
        t2 = time.perf_counter()
    result["close_seconds"] = time.perf_counter() - t2
    result["failures"] = failures[:5]
    result["failure_count"] = len(failures)
    if shared is not None:
        await shared.aclose()
    return result


def _frames_sent(conn: Signaling | BareConnection) -> int:
    return conn.pings_sent if isinstance(conn, BareConnection) else conn.stats.frames_sent


def _connected(conn: Signaling | BareConnection) -> bool:
    if isinstance(conn, BareConnection):
        return conn.connected
    return conn.state is ConnectionState.CONNECTED


@contextlib.asynccontextmanager
async def _engine(heartbeat: float) -> AsyncIterator[dict[str, Any]]:
    async with server_process("_engine_server", "--heartbeat-interval", str(heartbeat)) as info:
        yield info


def placement(pin: bool) -> tuple[int, int] | None:
    """The (engine, worker) CPUs when pinning, or None: not asked, or fewer than two CPUs."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (cpus[0], cpus[1]) if pin and len(cpus) >= 2 else None


async def run_one(
    loop: str,
    n: int,
    variant: str,
    heartbeat: float,
    window: float,
    connect_cap: float,
    cpus: tuple[int, int] | None = None,
) -> dict[str, Any]:
    async with _engine(heartbeat) as info:
        if cpus is not None:
            os.sched_setaffinity(info["pid"], {cpus[0]})
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--worker",
            json.dumps(
                {
                    "info": info,
                    "loop": loop,
                    "n": n,
                    "variant": variant,
                    "window": window,
                    "cap": connect_cap,
                    "settle": 0.2 if window < 1 else 1.0,
                    "cpu": None if cpus is None else cpus[1],
                }
            ),
        ]
        proc = await trio.run_process(
            cmd, capture_stdout=True, capture_stderr=True, cwd=str(ROOT), check=False
        )
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        error = f"worker exited {proc.returncode}: {tail}"
        return {"loop": loop, "n": n, "variant": variant, "error": error}
    out: dict[str, Any] = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    out["heartbeat"] = heartbeat
    return out


def available(loop: str) -> bool:
    """Whether this machine can run ``loop`` (uvloop: only where it is installed)."""
    return loop != "uvloop" or importlib.util.find_spec("uvloop") is not None


async def run(
    *,
    smoke: bool = False,
    sizes: tuple[int, ...] | None = None,
    heartbeat: float = DEFAULT_INTERVAL,
    variants: tuple[str, ...] | None = None,
    window: float | None = None,
    loops: tuple[str, ...] | None = None,
    pin: bool = True,
) -> Result:
    sizes = sizes or ((5,) if smoke else DEFAULT_SIZES)
    variants = variants or (("shared-http",) if smoke else ("own-http", "shared-http"))
    loops = loops or DEFAULT_LOOPS
    unknown = [loop for loop in loops if loop not in LOOPS]
    if unknown:
        raise ValueError(f"unknown loop(s) {unknown}: choose from {', '.join(LOOPS)}")
    # Two full heartbeat intervals: every session pings twice within the window.
    window = window or (0.3 if smoke else max(10.0, 2 * heartbeat))
    cpus = placement(pin)
    command = "uv run python -m benchmarks.scale" + (" --smoke" if smoke else "")
    result = Result("Scale: many sessions in one process (#7.3)", command)
    rows: list[dict[str, Any]] = []
    for loop in loops:
        if not available(loop):
            result.notes.append(f"{loop}: skipped: `import {loop}` fails here (not installed)")
            continue
        for variant in variants:
            tag = f"{loop} {variant}"
            for n in sizes:
                if variant == "own-http" and n > OWN_HTTP_MAX and not smoke:
                    result.notes.append(
                        f"{tag} N={n:,}: skipped: each session builds its own httpx client "
                        f"(connection pool); measured up to N={OWN_HTTP_MAX:,}. See the "
                        "shared-http rows."
                    )
                    continue
                cap = 30.0 if smoke else max(60.0, n * 0.03)
                # Connect (at most `cap`), the window, then closing every session (~10 ms
                # each on 2 shared cores) and the processes' start and exit.
                allowance = cap + window + 60 + n * 0.02
                with trio.move_on_after(allowance) as step:
                    row = await run_one(loop, n, variant, heartbeat, window, cap, cpus)
                if step.cancelled_caught:
                    result.notes.append(
                        f"{tag} N={n:,}: did not settle within {allowance:g} s (the "
                        "sessions did not all connect and stay up: client and engine on 2 "
                        f"shared cores could not keep up with a {heartbeat:g} s heartbeat) — "
                        "not measured"
                    )
                    continue
                rows.append(row)
                if "error" in row:
                    result.notes.append(f"{tag} N={n}: {row['error']}")
                    continue
                report_row(result, row, tag, heartbeat, smoke)
            done = [
                r
                for r in rows
                if r.get("loop") == loop and r.get("variant") == variant and "error" not in r
            ]
            # Linearity, step by step: per-session cost at each N over that at the N before.
            for first, last in itertools.pairwise(done):
                span = f"N={last['n']:,} / N={first['n']:,}"
                add_ratios(result, tag, f", {span}", last, first, ("≈ 1 (linear)",) * 2)
    against_bare(result, rows)
    result.notes.append(
        f"Each (loop, variant, N) in a fresh worker process (one `anyio.run`, the loop's "
        f"backend) against a fresh engine process; idle window {window:g} s; heartbeat "
        f"interval {heartbeat:g} s (engine setting, sent in the hello). Memory from "
        "/proc/self/statm after gc; CPU from getrusage (worker) and /proc/PID/stat (engine). "
        + (
            f"Engine pinned to CPU {cpus[0]}, worker to CPU {cpus[1]}."
            if cpus is not None
            else "CPU placement left to the scheduler."
        )
    )
    result.raw = {"rows": rows}
    return result


def _run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """The worker's side: one loop, started by anyio with the backend the spec names."""
    loop = spec["loop"]
    if spec.get("cpu") is not None:
        os.sched_setaffinity(0, {spec["cpu"]})
    backend = "trio" if loop == "trio" else "asyncio"
    options: dict[str, Any] | None = {"use_uvloop": True} if loop == "uvloop" else None
    out: dict[str, Any] = anyio.run(
        worker,
        spec["info"],
        loop,
        spec["n"],
        spec["variant"],
        spec["window"],
        spec["cap"],
        spec["settle"],
        backend=backend,
        backend_options=options,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--sizes")
    parser.add_argument("--heartbeat", type=float, default=DEFAULT_INTERVAL)
    parser.add_argument("--variants")
    parser.add_argument("--window", type=float, help="idle window, s (default 2 heartbeats)")
    parser.add_argument(
        "--loops",
        help="loops, comma-separated, from trio, asyncio, uvloop (default: trio,asyncio; "
        "uvloop is skipped with a note where it is not installed)",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="leave CPU placement to the scheduler (default: engine and worker on a CPU each)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_run_worker(json.loads(args.worker))))
        return
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    variants = tuple(args.variants.split(",")) if args.variants else None
    loops = tuple(x for x in args.loops.split(",") if x) if args.loops else None
    if loops and (unknown := [loop for loop in loops if loop not in LOOPS]):
        parser.error(f"unknown loop(s) {', '.join(unknown)}: choose from {', '.join(LOOPS)}")
    trio.run(
        lambda: _print(
            run(
                smoke=args.smoke,
                sizes=sizes,
                heartbeat=args.heartbeat,
                variants=variants,
                window=args.window,
                loops=loops,
                pin=args.pin,
            )
        )
    )


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
