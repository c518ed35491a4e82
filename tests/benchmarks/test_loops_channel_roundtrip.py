"""The channel round-trip benchmark reports asyncio and uvloop rows (issue 18), at tiny sizes."""

from __future__ import annotations

import math

import trio

from benchmarks import channel_roundtrip

LOOPS = ("asyncio", "uvloop")


async def test_channel_roundtrip_loops_smoke() -> None:
    with trio.fail_after(120):  # Trio in this process, asyncio and uvloop in a worker each
        result = await channel_roundtrip.run(smoke=True, loops=LOOPS)
    assert not [note for note in result.notes if "NOT MEASURED" in note], result.notes
    figures = {f.label: f.value for f in result.figures}
    for prefix in ("", *(f"{loop}: " for loop in LOOPS)):
        for label in (
            "client event: trigger → other session's ChannelEvent, median",
            "client event: trigger → other session's ChannelEvent, p99",
            "chat: send_message → other session's MessageReceived, median",
            "chat: send_message → other session's MessageReceived, p99",
            "client event / chat, median",
            "client event / chat, p99",
        ):
            value = figures[f"{prefix}{label}"]
            assert math.isfinite(value), (prefix, label, value)
            assert value > 0, (prefix, label, value)
    for loop in LOOPS:
        assert result.raw[loop]["rounds"] == 6  # the smoke size
        (rounds,) = [note for note in result.notes if note.startswith(f"{loop}: 6 rounds")]
        assert rounds.endswith("{'client event': 0, 'chat': 0}."), rounds
    assert {"trio", *LOOPS} <= set(result.raw)
