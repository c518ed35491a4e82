"""An exact set of message ``seq`` numbers: a floor plus disjoint runs above it (sans-IO).

The chat ledger (`_delivery.py`) records which seqs of a conversation this session has
accounted for. It must never claim a seq it has not seen — that is how messages were lost —
so the set is exact: ``floor`` says "every seq at or below this is accounted for" (proven by
a complete history page-through, or by the live stream of a connection whose gap is closed),
and ``runs`` are closed integer intervals above it. Seqs are integers, so ``[3, 4]`` and
``[5, 7]`` merge into ``[3, 7]`` with nothing assumed; an engine whose seqs are contiguous
keeps one run (or none) per conversation, whatever the traffic.
"""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["SeqSet"]


class SeqSet:
    """An exact set of integers: everything at or below ``floor``, plus ``runs`` above it."""

    __slots__ = ("_highs", "_lows", "floor")

    def __init__(self, floor: int | None = None) -> None:
        self.floor: int | None = floor
        """Every seq at or below this is in the set; None: no such proof yet."""
        self._lows: list[int] = []
        self._highs: list[int] = []

    def __repr__(self) -> str:
        return f"SeqSet(floor={self.floor}, runs={self.runs})"

    @property
    def runs(self) -> tuple[tuple[int, int], ...]:
        """The closed intervals above ``floor + 1``, ascending and never adjacent."""
        return tuple(zip(self._lows, self._highs, strict=True))

    def __contains__(self, seq: int) -> bool:
        if self.floor is not None and seq <= self.floor:
            return True
        index = bisect_right(self._lows, seq) - 1
        return index >= 0 and seq <= self._highs[index]

    def add(self, seq: int) -> None:
        """Put one seq in the set."""
        self.add_range(seq, seq)

    def add_range(self, low: int, high: int) -> None:
        """Put every integer from ``low`` to ``high`` (inclusive) in the set."""
        if high < low:
            raise ValueError(f"empty range [{low}, {high}]")
        if self.floor is not None:
            if high <= self.floor:
                return
            low = max(low, self.floor + 1)
        # Runs that overlap or touch [low, high] are merged into it.
        first = bisect_right(self._highs, low - 2)  # first run whose high >= low - 1
        last = bisect_right(self._lows, high + 1)  # runs before this have low <= high + 1
        if first < last:
            low = min(low, self._lows[first])
            high = max(high, self._highs[last - 1])
        self._lows[first:last] = [low]
        self._highs[first:last] = [high]
        self._fold()

    def raise_floor(self, seq: int) -> None:
        """Claim every seq at or below ``seq`` (never lowers the floor)."""
        if self.floor is not None and seq <= self.floor:
            return
        self.floor = seq
        if not self._lows:  # no runs (the live stream's usual case): nothing to drop or fold
            return
        keep = bisect_right(self._highs, seq)  # runs wholly at or below the floor go
        del self._lows[:keep], self._highs[:keep]
        self._fold()

    def _fold(self) -> None:
        """Absorb the lowest run into the floor when it starts at or below ``floor + 1``."""
        if self.floor is not None and self._lows and self._lows[0] <= self.floor + 1:
            self.floor = max(self.floor, self._highs[0])
            del self._lows[0], self._highs[0]
