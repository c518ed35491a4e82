"""Shared helpers: server subprocesses, statistics, resident memory, result records."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT = 30.0


@dataclass
class Figure:
    """One measured figure: ``value`` in ``unit``, and what it is compared against."""

    label: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None

    def render(self) -> str:
        if self.unit == "x":
            text = f"{self.value:.2f}×"
        elif self.unit == "%":
            text = f"{self.value:.2f} %"
        elif abs(self.value) >= 100:
            text = f"{self.value:,.0f} {self.unit}"
        else:
            text = f"{self.value:.3g} {self.unit}"
        verdict = {True: "met", False: "MISSED", None: ""}[self.ok]
        return f"| {self.label} | {text} | {self.target} | {verdict} |"


@dataclass
class Result:
    """The outcome of one benchmark script."""

    name: str
    command: str
    figures: list[Figure] = field(default_factory=list[Figure])
    notes: list[str] = field(default_factory=list[str])
    raw: dict[str, Any] = field(default_factory=dict[str, Any])

    def add(
        self, label: str, value: float, unit: str, target: str = "", ok: bool | None = None
    ) -> None:
        self.figures.append(Figure(label, value, unit, target, ok))

    def markdown(self) -> str:
        lines = [f"## {self.name}", "", f"`{self.command}`", ""]
        if self.figures:
            lines += ["| figure | value | target | |", "|---|---|---|---|"]
            lines += [f.render() for f in self.figures]
            lines.append("")
        lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def print(self) -> None:
        print(self.markdown())
        print("raw:", json.dumps(self.raw, default=str))


def available_loops() -> tuple[str, ...]:
    """The non-Trio loops this machine can measure: asyncio, and uvloop where installed."""
    loops = ["asyncio"]
    if importlib.util.find_spec("uvloop") is not None:
        loops.append("uvloop")
    return tuple(loops)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratios(subject: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """Per round: ``subject`` ÷ ``baseline`` in that round (rates, higher is better).

    Readers of one round run within seconds of each other, so the ratio of a round cancels
    the machine's drift between rounds (its speed moves by up to 2x from one minute to the
    next); the median of these is the figure a target is checked against.
    """
    return [s / b for s, b in zip(subject, baseline, strict=True)]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft open-files limit towards ``wanted`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


@asynccontextmanager
async def server_process(module: str, *args: str) -> AsyncIterator[dict[str, Any]]:
    """Run ``python -m benchmarks.<module> args`` and yield the JSON line it prints first.

    The server exits when its stdin closes (and on its own after a hard time cap); it is
    killed if it has not exited within a few seconds of that.
    """
    cmd = [sys.executable, "-m", f"benchmarks.{module}", *args]
    proc = await trio.lowlevel.open_process(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(ROOT)
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        buf = b""
        with trio.fail_after(SERVER_START_TIMEOUT):
            while b"\n" not in buf:
                chunk = await proc.stdout.receive_some(4096)
                if not chunk:
                    raise RuntimeError(f"{module} exited before it was ready")
                buf += chunk
        info: dict[str, Any] = json.loads(buf.split(b"\n", 1)[0])
        info["pid"] = proc.pid
        yield info
    finally:
        with trio.CancelScope(shield=True):
            await proc.stdin.aclose()
            with trio.move_on_after(10):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def wait_stdin_eof() -> None:
    """Server side: return when the parent closes our stdin."""
    await trio.to_thread.run_sync(sys.stdin.buffer.read, abandon_on_cancel=True)


def announce(info: dict[str, Any]) -> None:
    """Server side: tell the parent we are ready."""
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of this process (or of ``pid``, from /proc)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def blocking_waits() -> int:
    """How many times this process has blocked so far (voluntary context switches).

    Each is a wait for I/O or a timer that ended in a wake-up: the count of wake-ups the loop
    paid for, whatever woke it.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def machine_summary() -> dict[str, str]:
    import platform

    import trio_websocket
    import wsproto

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "trio": trio.__version__,
        "trio-websocket": trio_websocket.__version__,
        "wsproto": wsproto.__version__,
    }


LOOP_WORKER = ROOT / "benchmarks" / "_loop_worker.py"


class LoopWorker:
    """A ``_loop_worker.py`` process: JSON lines in on stdin, JSON lines out on stdout."""

    def __init__(self, proc: trio.Process, label: str) -> None:
        self.proc = proc
        self.label = label
        self.info: dict[str, Any] = {}
        self._buf = b""

    async def read(self) -> dict[str, Any]:
        """The next JSON line the worker prints."""
        assert self.proc.stdout is not None
        while b"\n" not in self._buf:
            chunk = await self.proc.stdout.receive_some(65536)
            if not chunk:
                raise RuntimeError(f"{self.label}: worker exited (status {self.proc.poll()})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        out: dict[str, Any] = json.loads(line)
        return out

    async def call(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command line and return the worker's answer."""
        assert self.proc.stdin is not None
        await self.proc.stdin.send_all(json.dumps(command).encode() + b"\n")
        return await self.read()


def _worker_env(pythonpath: str | Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(pythonpath).resolve() if pythonpath is not None else ROOT)
    return env


@asynccontextmanager
async def loop_worker(
    label: str, loop: str, *args: str, pythonpath: str | Path | None = None
) -> AsyncIterator[LoopWorker]:
    """Run ``benchmarks/_loop_worker.py --loop LOOP ARGS`` as a script, its loop its own.

    ``pythonpath`` puts another source tree's ``utd_trio`` first (a baseline checkout); the
    script runs from a neutral directory so that the current tree is not picked up by
    accident. The first line the worker prints is in ``worker.info``. It exits when its
    stdin closes; it is killed if it has not within a few seconds.
    """
    env = _worker_env(pythonpath)
    cmd = [sys.executable, str(LOOP_WORKER), "--loop", loop, *args]
    proc = await trio.lowlevel.open_process(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd="/", env=env
    )
    worker = LoopWorker(proc, label)
    try:
        if args and args[0] == "receive":
            with trio.fail_after(SERVER_START_TIMEOUT):
                worker.info = await worker.read()
        yield worker
    finally:
        with trio.CancelScope(shield=True):
            assert proc.stdin is not None
            await proc.stdin.aclose()
            with trio.move_on_after(10):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def call_on_loop(loop: str, function: str, **kwargs: Any) -> Any:
    """Await ``function`` ("module:name", an anyio coroutine function) with ``kwargs`` in a
    `loop_worker` process running ``loop``; its JSON result."""
    args = ("call", "--function", function, "--kwargs", json.dumps(kwargs))
    async with loop_worker(f"{loop} {function}", loop, *args) as worker:
        answer = await worker.read()
    return answer["result"]
