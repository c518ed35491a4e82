"""Pings on a shared per-process grid (issue 18): pure functions, time passed in."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from utd_trio._protocol._heartbeat_grid import DEFAULT_SLOTS, grid_slot, next_grid_ping


@pytest.mark.parametrize("now", [0.0, 0.1, 24.999, 25.0, 1e6 + 3.3, -7.0, 123456.789])
@pytest.mark.parametrize("slot", [0, 1, 7, 15])
def test_the_next_ping_is_on_the_slot_strictly_after_now_within_one_interval(
    now: float, slot: int
) -> None:
    at = next_grid_ping(now, 25.0, slot, 16)
    assert now < at <= now + 25.0
    phase = (at - slot * 25.0 / 16) / 25.0
    assert phase == pytest.approx(round(phase), abs=1e-9)


def test_sessions_of_one_slot_ping_at_the_same_instant_whenever_they_connected() -> None:
    times = {next_grid_ping(now, 25.0, 3, 16) for now in (10.0, 11.5, 12.0, 14.0)}
    assert times == {25.0 + 3 * 25.0 / 16}


def test_a_schedule_never_leaves_more_than_an_interval_between_pings() -> None:
    at, gaps = 0.3, []
    for _ in range(50):
        nxt = next_grid_ping(at, 25.0, 5, 16)
        gaps.append(nxt - at)
        at = nxt
    assert max(gaps) <= 25.0
    assert gaps[1:] == pytest.approx([25.0] * 49)


def test_slots_are_stable_and_spread_sessions_over_the_grid() -> None:
    assert grid_slot("12.34") == grid_slot("12.34")  # not Python's salted hash
    keys = (f"{a}.{b}" for a, b in itertools.product(range(100), range(100)))
    counts = Counter(grid_slot(key) for key in keys)
    assert set(counts) == set(range(DEFAULT_SLOTS))
    assert max(counts.values()) < 2 * 10_000 / DEFAULT_SLOTS


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="slots"):
        grid_slot("x", 0)
    with pytest.raises(ValueError, match="interval"):
        next_grid_ping(0.0, 0.0, 0)
    with pytest.raises(ValueError, match="slot"):
        next_grid_ping(0.0, 25.0, 16, 16)
