"""`HeartbeatHub`: one timer per loop calls each registration when due, on both loops."""

from __future__ import annotations

import logging
import math

import anyio
import pytest

from utd_trio._transport._heartbeats import heartbeat_hub

pytestmark = pytest.mark.both_loops

IO = 5
STEP = 0.02  # seconds between due times: small, the order is what is asserted


async def test_callbacks_run_in_time_order_and_refile_at_the_time_they_return() -> None:
    hub = heartbeat_hub()
    calls: list[tuple[str, int]] = []
    done = anyio.Event()
    start = anyio.current_time()

    def every(name: str, period: float, times: int) -> None:
        count = 0

        def beat(now: float) -> float:
            nonlocal count
            assert now >= start + period * (count + 1) - 1e-3  # never called early
            count += 1
            calls.append((name, count))
            if name == "a" and count == times:
                done.set()
            return now + period if count < times else math.inf

        hub.add(beat, start + period)

    with anyio.fail_after(IO):
        every("a", 3 * STEP, 3)
        every("b", STEP, 2)
        await done.wait()
    assert calls == [("b", 1), ("b", 2), ("a", 1), ("a", 2), ("a", 3)]
    assert len(hub) == 0


async def test_one_hub_per_loop_and_an_earlier_entry_wakes_it_sooner() -> None:
    hub = heartbeat_hub()
    assert heartbeat_hub() is hub
    late, early = anyio.Event(), anyio.Event()
    now = anyio.current_time()
    hub.add(lambda _now: (late.set(), math.inf)[1], now + 60)
    with anyio.fail_after(IO):
        hub.add(lambda _now: (early.set(), math.inf)[1], now + STEP)
        await early.wait()  # the hub slept towards +60 s: the new entry moved its wake-up
    assert not late.is_set()
    assert len(hub) == 1


async def test_a_cancelled_beat_is_never_called_and_the_others_are() -> None:
    hub = heartbeat_hub()
    called: list[str] = []
    done = anyio.Event()
    now = anyio.current_time()
    gone = hub.add(lambda _now: (called.append("gone"), math.inf)[1], now + STEP)
    hub.add(lambda _now: (called.append("kept"), done.set(), math.inf)[2], now + STEP)
    gone.cancel()
    with anyio.fail_after(IO):
        await done.wait()
    assert called == ["kept"]


async def test_a_raising_callback_is_logged_and_dropped_and_the_hub_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = heartbeat_hub()
    calls = {"bad": 0, "good": 0}
    done = anyio.Event()
    now = anyio.current_time()

    def bad(_now: float) -> float:
        calls["bad"] += 1
        raise RuntimeError("boom")

    def good(t: float) -> float:
        calls["good"] += 1
        if calls["good"] == 3:
            done.set()
            return math.inf
        return t + STEP

    with caplog.at_level(logging.ERROR, "utd_trio.heartbeats"), anyio.fail_after(IO):
        hub.add(bad, now + STEP)
        hub.add(good, now + STEP)
        await done.wait()
    assert calls == {"bad": 1, "good": 3}
    assert "boom" in caplog.text


async def test_a_callback_answering_a_time_already_past_runs_once_per_pass() -> None:
    hub = heartbeat_hub()
    calls: list[float] = []
    done = anyio.Event()

    def behind(now: float) -> float:
        calls.append(now)
        if len(calls) == 3:
            done.set()
            return math.inf
        return now - 1.0  # in the past: due again, but not within the same pass

    with anyio.fail_after(IO):
        hub.add(behind, anyio.current_time())
        await done.wait()
    assert len(calls) == 3


async def test_the_hub_serves_entries_added_after_it_ran_dry() -> None:
    hub = heartbeat_hub()
    for _ in range(2):
        fired = anyio.Event()
        hub.add(lambda _now, f=fired: (f.set(), math.inf)[1], anyio.current_time() + STEP)
        with anyio.fail_after(IO):
            await fired.wait()
        assert len(hub) == 0
