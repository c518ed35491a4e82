"""Full-jitter exponential backoff, protocol §8: uniform(0, min(cap, base·2^attempt))."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from utd_trio._protocol._backoff import (
    DEFAULT_BASE,
    DEFAULT_CAP,
    Backoff,
    full_jitter,
    shared_rng,
)
from utd_trio._protocol._reconnect import ReconnectPolicy


def test_protocol_defaults() -> None:
    assert (DEFAULT_BASE, DEFAULT_CAP) == (0.5, 30.0)
    backoff = Backoff()
    assert (backoff.base, backoff.cap, backoff.attempt) == (0.5, 30.0, 0)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        pytest.param(0, 0.5, id="0-base"),
        pytest.param(1, 1.0, id="1"),
        pytest.param(2, 2.0, id="2"),
        pytest.param(5, 16.0, id="5"),
        pytest.param(6, 30.0, id="6-capped"),
        pytest.param(63, 30.0, id="63"),
        pytest.param(64, 30.0, id="64"),
        pytest.param(10_000, 30.0, id="huge-no-overflow"),
    ],
)
def test_full_jitter_ceiling(attempt: int, ceiling: float) -> None:
    calls: list[tuple[float, float]] = []

    def uniform(lo: float, hi: float) -> float:
        calls.append((lo, hi))
        return hi

    assert full_jitter(attempt, uniform=uniform) == ceiling
    assert calls == [(0.0, ceiling)]


def test_full_jitter_refuses_a_negative_attempt() -> None:
    with pytest.raises(ValueError, match="attempt"):
        full_jitter(-1)


@pytest.mark.parametrize(
    ("base", "cap"),
    [
        pytest.param(0.5, 30.0, id="defaults"),
        pytest.param(0.1, 0.1, id="base-equals-cap"),
        pytest.param(1.0, 7.0, id="cap-not-a-power"),
    ],
)
def test_every_delay_is_within_bounds(base: float, cap: float) -> None:
    backoff = Backoff(base=base, cap=cap, rng=random.Random(1234))
    for attempt in range(200):
        assert backoff.attempt == attempt
        delay = backoff.next_delay()
        assert 0.0 <= delay <= min(cap, base * 2.0**attempt)


def test_attempts_are_counted_and_reset() -> None:
    backoff = Backoff(rng=random.Random(7))
    for _ in range(8):
        backoff.next_delay()
    assert backoff.attempt == 8
    backoff.reset()
    assert backoff.attempt == 0
    # After a reset the first retry is immediate: jittered within base.
    assert 0.0 <= backoff.next_delay() <= DEFAULT_BASE
    assert backoff.attempt == 1


def test_first_retries_after_reset_stay_small_even_after_many_failures() -> None:
    backoff = Backoff(rng=random.Random(3))
    for _ in range(100):
        backoff.next_delay()
    backoff.reset()
    assert [backoff.next_delay() <= c for c in (0.5, 1.0, 2.0)] == [True, True, True]


@pytest.mark.parametrize("floor", [0.0, 1.0, 5.0, 60.0])
def test_floor_is_honoured(floor: float) -> None:
    backoff = Backoff(rng=random.Random(99))
    for _ in range(50):
        assert backoff.next_delay(floor) >= floor


def test_floor_never_lowers_a_longer_delay() -> None:
    floored = Backoff(rng=random.Random(5), attempt=10)
    plain = Backoff(rng=random.Random(5), attempt=10)
    for _ in range(20):
        assert floored.next_delay(0.001) == max(plain.next_delay(), 0.001)


def test_floor_still_counts_the_attempt() -> None:
    backoff = Backoff(rng=random.Random(0))
    backoff.next_delay(5.0)
    assert backoff.attempt == 1


def test_deterministic_with_a_seeded_rng() -> None:
    a = Backoff(rng=random.Random(2026))
    b = Backoff(rng=random.Random(2026))
    c = Backoff(rng=random.Random(2027))
    seq_a = [a.next_delay() for _ in range(30)]
    seq_b = [b.next_delay() for _ in range(30)]
    seq_c = [c.next_delay() for _ in range(30)]
    assert seq_a == seq_b
    assert seq_a != seq_c


@pytest.mark.parametrize(
    ("base", "cap"),
    [
        pytest.param(0.0, 30.0, id="zero-base"),
        pytest.param(-1.0, 30.0, id="negative-base"),
        pytest.param(2.0, 1.0, id="cap-below-base"),
        pytest.param(math.nan, 30.0, id="nan-base"),
        pytest.param(0.5, math.nan, id="nan-cap"),
        pytest.param(0.5, math.inf, id="infinite-cap"),
        pytest.param(math.inf, math.inf, id="infinite-base"),
    ],
)
def test_invalid_parameters_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=base, cap=cap)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [
        pytest.param(0, 0.5, id="attempt-0"),
        pytest.param(3, 4.0, id="attempt-3"),
        pytest.param(20, 30.0, id="capped"),
    ],
)
def test_distribution_is_uniform_up_to_the_ceiling(attempt: int, ceiling: float) -> None:
    # Seeded, so deterministic; the tolerances are > 20 standard errors wide, so a correct
    # implementation passes for any seed and a wrong one (e.g. no jitter, wrong ceiling) fails.
    rng = random.Random(4242 + attempt)
    samples = [full_jitter(attempt, uniform=rng.uniform) for _ in range(20_000)]
    assert max(samples) <= ceiling
    assert min(samples) >= 0.0
    assert statistics.fmean(samples) == pytest.approx(ceiling / 2, rel=0.05)
    below_half = sum(s < ceiling / 2 for s in samples) / len(samples)
    assert below_half == pytest.approx(0.5, abs=0.03)
    # the whole range is used: samples reach into both the bottom and the top tenth
    assert min(samples) < ceiling * 0.1
    assert max(samples) > ceiling * 0.9


def test_sessions_share_one_generator_unless_given_their_own() -> None:
    """A `random.Random` is 2.5 KiB of state: one per process, not one per session."""
    assert Backoff().rng is shared_rng()
    assert Backoff().rng is Backoff().rng
    mine = random.Random(1)
    policy = ReconnectPolicy(
        backoff_base=0.5, backoff_cap=30.0, connect_timeout=10.0, now=0.0, rng=mine
    )
    assert policy._backoff.rng is mine  # pyright: ignore[reportPrivateUsage]
    default = ReconnectPolicy(backoff_base=0.5, backoff_cap=30.0, connect_timeout=10.0, now=0.0)
    assert default._backoff.rng is shared_rng()  # pyright: ignore[reportPrivateUsage]
