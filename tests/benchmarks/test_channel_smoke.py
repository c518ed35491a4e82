"""The channel benchmarks run end to end at tiny sizes and report their figures (seconds)."""

from __future__ import annotations

import math

import trio

from benchmarks import channel_fanout, channel_roundtrip, run_all
from benchmarks._common import Result


def _finite(result: Result) -> None:
    assert result.figures, result.notes
    for figure in result.figures:
        assert math.isfinite(figure.value), figure
        assert figure.value > 0, figure
    assert result.name in result.markdown()


async def test_channel_fanout_smoke() -> None:
    with trio.fail_after(60):
        result = await channel_fanout.run(smoke=True, members=3, sends=2)
    _finite(result)
    labels = [f.label for f in result.figures]
    assert "SDK / bare, median" in labels
    assert "SDK, 3 subscribers: broadcast → last ChannelEvent, p99" in labels
    assert result.raw["rounds"] == 2
    assert "failures" not in result.notes[0]
    assert "'bench-fan-sdk': 3" in result.notes[0]


async def test_channel_roundtrip_smoke() -> None:
    with trio.fail_after(60):
        result = await channel_roundtrip.run(smoke=True, n=4)
    _finite(result)
    labels = [f.label for f in result.figures]
    assert "client event / chat, median" in labels
    assert result.raw["rounds"] == 4
    assert "{'client event': 0, 'chat': 0}" in result.notes[0]


def test_registered_in_bench() -> None:
    assert {"channel_fanout", "channel_roundtrip"} <= set(run_all.BENCHMARKS)
