"""Every benchmark runs end to end at tiny sizes and reports its figures (a few seconds)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import trio

from benchmarks import fanout, receive, recovery, roundtrip, run_all, scale
from benchmarks._common import ROOT, Result, percentile


def _finite(result: Result) -> None:
    assert result.figures
    for figure in result.figures:
        assert math.isfinite(figure.value), figure
        assert figure.value > 0, figure
    assert result.name in result.markdown()


async def test_receive_smoke() -> None:
    with trio.fail_after(60):
        result = await receive.run(smoke=True, loops=("asyncio", "uvloop"))
    _finite(result)
    labels = [f.label for f in result.figures]
    assert "message: SDK / bare" in labels
    assert "presence: SDK / bare" in labels
    for loop in ("asyncio", "uvloop"):  # each in a worker process of its own
        target = f"message: {loop}: SDK / best bare websockets (issue 18)"
        assert f"{target}, median of per-round ratios" in labels
        assert f"{target}, ratio of medians" in labels
        assert f"presence: {loop}: bare websockets (defaults)" in labels
        assert len(result.raw["message"][f"{loop} sdk"]) == 1


async def test_receive_smoke_against_a_baseline_tree() -> None:
    # This tree stands in for the baseline checkout: the option's plumbing, not a figure.
    with trio.fail_after(60):
        result = await receive.run(smoke=True, loops=(), baseline_tree=str(ROOT))
    _finite(result)
    labels = [f.label for f in result.figures]
    ratios = [label for label in labels if label.startswith("message: trio: SDK this tree /")]
    assert len(ratios) == 4  # per-round median, lowest, highest; ratio of medians
    assert any(f"`{ROOT / 'utd_trio' / '__init__.py'}`" in note for note in result.notes)


async def test_roundtrip_smoke() -> None:
    with trio.fail_after(60):
        result = await roundtrip.run(smoke=True, loops=("asyncio", "uvloop"))
    _finite(result)
    labels = [f.label for f in result.figures]
    assert "echo: SDK / bare, median" in labels
    assert "send: SDK / bare, median" in labels
    for loop in ("asyncio", "uvloop"):
        assert f"{loop}: echo: SDK / bare, median" in labels
        assert f"{loop}: send: bare websockets `message.send` round trip, p99" in labels


async def test_scale_smoke() -> None:
    with trio.fail_after(60):  # two worker processes (trio, asyncio): ~10 s
        result = await scale.run(smoke=True)
    _finite(result)
    assert not [n for n in result.notes if "worker exited" in n]
    labels = [f.label for f in result.figures]
    rows = result.raw["rows"]
    for loop in ("trio", "asyncio"):  # one anyio worker code path, each on its own loop
        assert f"{loop} shared-http N=5: memory per session" in labels
        (row,) = [r for r in rows if r["loop"] == loop]
        assert row["connected"] == 5
        assert row["connect_cpu_seconds"] > 0
        assert row["connect_engine_cpu_seconds"] >= 0  # counted in clock ticks


async def test_scale_smoke_against_bare_clients() -> None:
    with trio.fail_after(60):  # two worker processes (bare, shared-http), both asyncio
        result = await scale.run(smoke=True, variants=("bare", "shared-http"), loops=("asyncio",))
    assert not [n for n in result.notes if "worker exited" in n]
    labels = [f.label for f in result.figures]
    assert "asyncio bare N=5: memory per session" in labels
    assert "asyncio shared-http / bare N=5: CPU per heartbeat" in labels
    (bare,) = [r for r in result.raw["rows"] if r["variant"] == "bare"]
    assert bare["connected"] == bare["still_connected"] == 5


async def test_recovery_smoke() -> None:
    with trio.fail_after(60):  # Trio in this process, asyncio and uvloop in a worker each
        result = await recovery.run(smoke=True, loops=("asyncio", "uvloop"))
    _finite(result)
    for prefix in ("", "asyncio: ", "uvloop: "):
        label = f"{prefix}stall → Disconnected (detection), max"
        stall_max = next(f for f in result.figures if f.label == label)
        assert stall_max.ok
    assert set(result.raw) == {"trio", "asyncio", "uvloop"}


async def test_fanout_smoke() -> None:
    with trio.fail_after(60):
        result = await fanout.run(smoke=True)
    _finite(result)
    labels = [f.label for f in result.figures]
    assert "SDK / bare, median" in labels
    assert "SDK, 5 members: send → last MessageReceived, p99" in labels
    assert result.raw["rounds"] == 3
    assert "failures" not in result.notes[0]


def test_results_markdown(tmp_path: Path) -> None:
    result = Result("demo", "uv run python -m benchmarks.demo")
    result.add("ratio", 1.234, "x", "≥ 1.0×", True)
    result.add("latency", 420.0, "µs")
    text = run_all.render([result], "nox -s bench", {"utd-trio": "0"})
    assert "| ratio | 1.23× | ≥ 1.0× | met |" in text
    assert "- command: `nox -s bench`" in text
    assert "- python:" in text


@pytest.mark.parametrize(
    ("values", "q", "expected"), [([1, 2, 3, 4], 50, 2), (list(range(1, 101)), 99, 99)]
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected
