"""TypingTable (sans-IO): the sender's throttle, the receiver's change filter and expiry.

No sockets, no clock: time is a number passed in. The property test drives random
interleavings of starts, stops, sends, failed sends, received events, expiry sweeps and time
steps (landing exactly on the 3 s and 6 s boundaries too) and checks, at every step, that
no (conversation, user) is published in the same state twice in a row and nobody stays
typing past 6 s without a refresh once the table was swept.

``UTD_MODEL_EXAMPLES=5000 uv run pytest tests/unit/test_typing_table.py`` runs a long one.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utd_trio._protocol._typing_table import TypingKey, TypingTable, chat_target, typing_body
from utd_trio._protocol._vocab import TYPING_EXPIRY, TYPING_THROTTLE

BOB: TypingKey = ("to", "bob")
TEAM: TypingKey = ("group_id", "g1")


# --- sender --------------------------------------------------------------------------------


def test_one_true_per_throttle_period() -> None:
    table = TypingTable()
    assert table.start(BOB, 100.0)
    assert not table.start(BOB, 100.0)
    assert not table.start(BOB, 100.0 + TYPING_THROTTLE - 0.01)
    assert table.start(TEAM, 101.0)  # per conversation
    assert table.start(BOB, 100.0 + TYPING_THROTTLE)  # exactly 3 s later: a refresh
    assert not table.start(BOB, 104.0)


def test_a_failed_send_lets_the_next_start_retry_at_once() -> None:
    table = TypingTable()
    assert table.start(BOB, 10.0)
    table.sent_failed(BOB, 10.0)
    assert not table.is_sending(BOB)
    assert not table.stop(BOB)  # nothing went out: nothing to stop
    assert table.start(BOB, 10.5)
    assert table.is_sending(BOB)


def test_a_late_failure_does_not_undo_a_newer_state() -> None:
    table = TypingTable()
    assert table.start(BOB, 10.0)
    assert table.stop(BOB)
    assert table.start(BOB, 11.0)  # a new start after the stop
    table.sent_failed(BOB, 10.0)  # the first send's failure arrives late: ignored
    assert table.is_sending(BOB)
    assert not table.start(BOB, 12.0)  # still throttled from 11.0


def test_stop_only_after_a_start() -> None:
    table = TypingTable()
    assert not table.stop(BOB)
    assert table.start(BOB, 0.0)
    assert table.stop(BOB)
    assert not table.stop(BOB)  # already stopped
    assert table.start(BOB, 0.5)  # a stop ends the throttle period


def test_sending_a_message_stops_typing() -> None:
    table = TypingTable()
    assert not table.after_send(BOB)  # not typing: no false after the message
    assert table.start(BOB, 0.0)
    assert table.start(TEAM, 0.0)
    assert table.after_send(BOB)
    assert not table.after_send(BOB)
    assert not table.stop(BOB)
    assert table.is_sending(TEAM)  # other conversations untouched


def test_request_body_and_target() -> None:
    assert chat_target("bob", None, "alice") == (BOB, "to")
    assert chat_target(None, "g1", "alice") == (TEAM, "group_id")
    assert typing_body(BOB, True) == {"to": "bob", "is_typing": True}
    assert typing_body(TEAM, False) == {"group_id": "g1", "is_typing": False}
    for to, group in ((None, None), ("bob", "g1")):
        with pytest.raises(ValueError, match="exactly one"):
            chat_target(to, group, "alice")
    with pytest.raises(ValueError, match="yourself"):
        chat_target("alice", None, "alice")
    with pytest.raises(ValueError, match="to"):
        chat_target("not valid!", None, "alice")
    with pytest.raises(ValueError, match="group_id"):
        chat_target(None, "", "alice")


# --- receiver ------------------------------------------------------------------------------


def test_receiver_publishes_changes_only() -> None:
    table = TypingTable()
    assert not table.seen("c", "bob", False, 0.0)  # a stop of nobody typing
    assert table.seen("c", "bob", True, 0.0)
    assert not table.seen("c", "bob", True, 2.0)  # a refresh is absorbed
    assert table.typing_users("c") == {"bob"}
    assert table.seen("c", "bob", False, 3.0)
    assert not table.seen("c", "bob", False, 3.5)
    assert table.typing_users("c") == frozenset()


def test_expiry_after_6s_exactly() -> None:
    table = TypingTable()
    assert table.next_deadline() == math.inf
    assert table.seen("c", "bob", True, 10.0)
    assert table.seen("c", "carol", True, 11.0)
    assert table.next_deadline() == 10.0 + TYPING_EXPIRY
    assert table.expire(10.0 + TYPING_EXPIRY - 0.001) == []
    assert table.expire(10.0 + TYPING_EXPIRY) == [("c", "bob")]
    assert table.typing_users("c") == {"carol"}
    assert table.next_deadline() == 11.0 + TYPING_EXPIRY
    assert table.expire(100.0) == [("c", "carol")]
    assert table.next_deadline() == math.inf
    assert not table.seen("c", "carol", False, 100.0)  # a late stop after expiry: absorbed


def test_refresh_rearms_the_expiry() -> None:
    table = TypingTable()
    table.seen("c", "bob", True, 0.0)
    table.seen("c", "bob", True, 4.0)
    assert table.expire(TYPING_EXPIRY) == []
    assert table.next_deadline() == 4.0 + TYPING_EXPIRY
    assert table.expire(4.0 + TYPING_EXPIRY) == [("c", "bob")]


def test_typing_users_per_conversation() -> None:
    table = TypingTable()
    table.seen("dm:a:b", "a", True, 0.0)
    table.seen("group:g1", "a", True, 0.0)
    table.seen("group:g1", "c", True, 1.0)
    assert table.typing_users("group:g1") == {"a", "c"}
    assert table.typing_users("dm:a:b") == {"a"}
    assert table.typing_users("nowhere") == frozenset()
    assert table.expire(TYPING_EXPIRY) == [("dm:a:b", "a"), ("group:g1", "a")]
    assert table.typing_users("group:g1") == {"c"}


# --- random interleavings ------------------------------------------------------------------

KEYS = st.sampled_from([BOB, TEAM])
PEERS = st.sampled_from([("c1", "bob"), ("c1", "carol"), ("c2", "bob")])
EXAMPLES = int(os.environ.get("UTD_MODEL_EXAMPLES", "100"))
STEPS = st.sampled_from([0.0, 0.5, 1.0, 2.9, 3.0, 3.1, 5.9, 6.0, 6.1])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), STEPS),
        st.tuples(st.just("start"), KEYS),
        st.tuples(st.just("finish"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("stop"), KEYS, st.booleans()),
        st.tuples(st.just("seen"), PEERS, st.booleans()),
        st.tuples(st.just("expire")),
    ),
    max_size=50,
)


class Model:
    """One table; what it told the shell to send and publish, checked against the rules."""

    def __init__(self) -> None:
        self.table = TypingTable()
        self.now = 0.0
        # sender: the true that went out (and not stopped), and sends still in flight
        self.sent_true: dict[TypingKey, float] = {}
        self.in_flight: list[tuple[TypingKey, float]] = []
        # receiver: the last state published and the last refresh, per (cid, user)
        self.published: dict[tuple[str, str], bool] = {}
        self.refreshed: dict[tuple[str, str], float] = {}

    def start(self, key: TypingKey) -> None:
        last = self.sent_true.get(key)
        allowed = self.table.start(key, self.now)
        assert allowed == (last is None or self.now - last >= TYPING_THROTTLE)
        if allowed:
            self.sent_true[key] = self.now
            self.in_flight.append((key, self.now))

    def finish(self, index: int, ok: bool) -> None:
        """A send in flight (any of them, in any order) went out or failed."""
        if not self.in_flight:
            return
        key, at = self.in_flight.pop(index % len(self.in_flight))
        if not ok:
            self.table.sent_failed(key, at)
            if self.sent_true.get(key) == at:
                del self.sent_true[key]  # the next start goes out at once

    def stop(self, key: TypingKey, by_message: bool) -> None:
        send_false = self.table.after_send(key) if by_message else self.table.stop(key)
        assert send_false == (key in self.sent_true)  # a false only after a true
        self.sent_true.pop(key, None)

    def seen(self, peer: tuple[str, str], is_typing: bool) -> None:
        was = self.published.get(peer, False)
        change = self.table.seen(peer[0], peer[1], is_typing, self.now)
        assert change == (is_typing != was)  # never the same state twice in a row
        if change:
            self.published[peer] = is_typing
        if is_typing:
            self.refreshed[peer] = self.now

    def expire(self) -> None:
        for peer in self.table.expire(self.now):
            assert self.published.get(peer) is True  # only a typer is stopped
            # Deadlines as the table keeps them (refresh + expiry): comparing elapsed time
            # instead differs by a rounding (17.9 - 11.9 < 6.0, hypothesis found).
            assert self.refreshed[peer] + TYPING_EXPIRY <= self.now
            self.published[peer] = False
        for peer, typing in self.published.items():
            if typing:  # swept: nobody left typing 6 s after their last refresh
                assert self.refreshed[peer] + TYPING_EXPIRY > self.now

    def check(self) -> None:
        typing = [peer for peer, on in self.published.items() if on]
        for cid in ("c1", "c2"):
            assert self.table.typing_users(cid) == {u for c, u in typing if c == cid}
        deadline = min((self.refreshed[p] + TYPING_EXPIRY for p in typing), default=math.inf)
        assert self.table.next_deadline() == deadline
        for key in (BOB, TEAM):
            assert self.table.is_sending(key) == (key in self.sent_true)


@settings(max_examples=EXAMPLES, deadline=None)
@given(OPS)
def test_random_interleavings(ops: list[tuple[Any, ...]]) -> None:
    model = Model()
    for op, *args in ops:
        if op == "advance":
            model.now += args[0]
        else:
            getattr(model, op)(*args)
        model.check()
