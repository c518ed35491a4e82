"""`HeartbeatHub`: one timer per loop calls each registration when due, on both loops."""

from __future__ import annotations

import asyncio
import logging
import math

import anyio
import pytest
import sniffio
import trio

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


def hub_tasks() -> int:
    """How many heartbeat hub tasks the running loop has."""
    name = "utd_trio heartbeat hub"
    if sniffio.current_async_library() == "trio":
        root = trio.lowlevel.current_root_task()  # the hub is a system task: root's child
        assert root is not None
        return sum(
            task.name == name for nursery in root.child_nurseries for task in nursery.child_tasks
        )
    return sum(task.get_name() == name for task in asyncio.all_tasks())


async def test_the_hub_ends_when_its_last_beat_is_cancelled_not_when_it_was_due() -> None:
    # After the last session closes no timer task stays behind, sleeping towards a ping that
    # will never be sent (the cancellation tests count tasks before and after).
    hub = heartbeat_hub()
    with anyio.fail_after(IO):
        beats = [hub.add(lambda now: now + 60, anyio.current_time() + 60) for _ in range(2)]
        await anyio.wait_all_tasks_blocked()
        assert hub_tasks() == 1
        beats[0].cancel()
        await anyio.wait_all_tasks_blocked()
        assert hub_tasks() == 1  # one entry is still live
        beats[1].cancel()
        beats[1].cancel()  # idempotent: counted once
        await anyio.wait_all_tasks_blocked()
        assert hub_tasks() == 0
        assert len(hub) == 0
        fired = anyio.Event()
        hub.add(lambda _now: (fired.set(), math.inf)[1], anyio.current_time() + STEP)
        await fired.wait()  # and the next registration starts it again
