"""Full-jitter exponential backoff (protocol §8) as pure code with an injectable RNG."""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_BASE = 0.5
DEFAULT_CAP = 30.0

# One generator for every session of the process: a `random.Random` holds 2.5 KiB of state,
# and jitter needs no independent stream per session. Reseeded in a forked child, so that
# parent and child do not draw the same delays. Tests pass their own ``rng=``.
_SHARED_RNG = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SHARED_RNG.seed)


def shared_rng() -> random.Random:
    """The process-wide generator of backoff jitter (the default of every ``rng=``)."""
    return _SHARED_RNG


def full_jitter(
    attempt: int,
    *,
    base: float = DEFAULT_BASE,
    cap: float = DEFAULT_CAP,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """``uniform(0, min(cap, base * 2**attempt))`` for attempt 0, 1, 2, …."""
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    ceiling = cap if attempt >= 64 else min(cap, base * (2.0**attempt))
    return uniform(0.0, ceiling)


@dataclass
class Backoff:
    """The reconnect schedule of one session.

    ``next_delay()`` returns the wait before the next attempt and counts it; ``reset()`` is
    called once a connection is established, so the first retry after a drop is immediate
    (jittered within ``base``). A floor (``Retry-After``, close 4029) raises the delay.
    """

    base: float = DEFAULT_BASE
    cap: float = DEFAULT_CAP
    rng: random.Random = field(default_factory=shared_rng)
    attempt: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.base <= self.cap < math.inf):
            raise ValueError(f"need finite 0 < base <= cap, got base={self.base} cap={self.cap}")

    def next_delay(self, floor: float = 0.0) -> float:
        """The delay before the next attempt, at least ``floor`` seconds."""
        delay = full_jitter(self.attempt, base=self.base, cap=self.cap, uniform=self.rng.uniform)
        self.attempt += 1
        return max(delay, floor)

    def reset(self) -> None:
        """Forget past failures (a connection was established)."""
        self.attempt = 0
