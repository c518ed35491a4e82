"""SeqSet against a plain set of integers: exact, and runs that never touch (sans-IO)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utd_trio._protocol._seqset import SeqSet

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40), st.integers(0, 5)),
        st.tuples(st.just("floor"), st.integers(0, 40), st.just(0)),
    ),
    max_size=40,
)


@given(ops)
def test_matches_a_plain_set(operations: list[tuple[str, int, int]]) -> None:
    seqs = SeqSet()
    model: set[int] = set()
    floor: int | None = None
    for op, value, width in operations:
        if op == "add":
            seqs.add_range(value, value + width)
            model.update(range(value, value + width + 1))
        else:
            seqs.raise_floor(value)
            floor = value if floor is None else max(floor, value)
        for seq in range(-2, 50):
            expected = seq in model or (floor is not None and seq <= floor)
            assert (seq in seqs) == expected, (seq, seqs)
        runs = seqs.runs
        assert all(low <= high for low, high in runs)
        assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(runs))
        if seqs.floor is not None and runs:
            assert runs[0][0] > seqs.floor + 1


def test_contiguous_seqs_keep_one_run_or_none() -> None:
    seqs = SeqSet()
    for seq in (5, 7, 6, 9, 8):
        seqs.add(seq)
    assert seqs.runs == ((5, 9),)
    seqs.raise_floor(4)
    assert (seqs.floor, seqs.runs) == (9, ())


def test_an_empty_range_is_refused() -> None:
    with pytest.raises(ValueError, match="empty range"):
        SeqSet().add_range(3, 2)
