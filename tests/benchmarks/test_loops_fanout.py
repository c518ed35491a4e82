"""The fan-out benchmarks report asyncio and uvloop rows too (issue 18), at tiny sizes."""

from __future__ import annotations

import math

import trio

from benchmarks import channel_fanout, fanout
from benchmarks._common import Result

LOOPS = ("asyncio", "uvloop")


def _rows(result: Result) -> dict[str, float]:
    assert result.figures, result.notes
    for figure in result.figures:
        assert math.isfinite(figure.value), figure
        assert figure.value > 0, figure
    return {f.label: f.value for f in result.figures}


async def test_fanout_loops_smoke() -> None:
    with trio.fail_after(90):  # Trio in this process, asyncio and uvloop in a worker each
        result = await fanout.run(smoke=True, members=3, sends=2, loops=LOOPS)
    rows = _rows(result)
    assert "SDK / bare, median" in rows  # Trio's, unprefixed as before
    assert result.raw["rounds"] == 2
    for loop in LOOPS:
        assert f"{loop}: SDK / bare, median" in rows
        assert f"{loop}: bare, 3 members: send → last message.new, p99" in rows
        assert f"{loop}: SDK, 1 member: send → MessageReceived, median" in rows
        assert result.raw[loop]["rounds"] == 2
        (ready,) = [n for n in result.notes if n.startswith(f"{loop}: 2 rounds")]
        assert "Members ready 7/7" in ready
        assert "failures" not in ready
    assert len(rows) == 3 * 11


async def test_channel_fanout_loops_smoke() -> None:
    with trio.fail_after(90):
        result = await channel_fanout.run(smoke=True, members=3, sends=2, loops=LOOPS)
    rows = _rows(result)
    assert "SDK / bare, median" in rows
    assert result.raw["rounds"] == 2
    for loop in LOOPS:
        assert f"{loop}: SDK / bare, median" in rows
        assert f"{loop}: SDK, 3 subscribers: broadcast → last ChannelEvent, p99" in rows
        assert result.raw[loop]["rounds"] == 2
        (ready,) = [n for n in result.notes if n.startswith(f"{loop}: 2 rounds")]
        assert f"'bench-fan-{loop}-sdk': 3" in ready
        assert f"'bench-fan-{loop}-bare': 3" in ready
        assert "failures" not in ready
    assert len(rows) == 3 * 11


async def test_no_other_loops() -> None:
    with trio.fail_after(60):
        result = await fanout.run(smoke=True, members=2, sends=1, loops=())
    rows = _rows(result)
    assert not [label for label in rows if label.startswith(tuple(f"{x}: " for x in LOOPS))]
    assert set(result.raw) >= {"median_ms", "rounds"}
    assert not set(result.raw) & set(LOOPS)
