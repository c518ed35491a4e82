"""The presence table without I/O: subscriptions, snapshots, live updates, restores.

The last class is a model-based test (hypothesis stateful testing) of random interleavings of
subscribes, acks held back by the engine and released in any order, live updates, drops,
reconnects (restores in chunks) and unsubscribes, against a scripted engine in memory.

Invariants, at every step:
- the known presence of each watched user equals the newest truth the client was told (by a
  live update or a snapshot, whether the table kept that snapshot or not — but for a user
  unsubscribed after the request, whose entry in its answer does not count: the later call
  wins);
- a restore publishes a `PresenceChanged` exactly for the users whose known presence it
  changed, never for an unchanged one — and so does a user's own subscribe, for the users it
  finds watched already (none for users new to the session).

Also modelled: a user's subscribe still in flight when the socket drops is sent again on the
next connection (`PresenceTable.resending`); subscribing again a user unsubscribed while frames
about it (an update, or a snapshot) are still in flight; unsubscribing a user while the user's
own subscribe of it is in flight (the later call wins). The engine writes each socket's frames
in the order it made them — an unsubscribe's ack follows every update it sent before — but may
hold a subscribe's ack back while updates made after its snapshot go out first.

``UTD_MODEL_EXAMPLES=5000 uv run pytest tests/unit/test_presence_table.py`` runs a long one.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from utd_trio._events import PresenceChanged
from utd_trio._models import PresenceInfo
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._presence import (
    PresenceMark,
    PresenceTable,
    parse_subscribe_reply,
    subscribe_body,
    unsubscribe_body,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def on(user_id: str) -> PresenceInfo:
    """``user_id`` online."""
    return PresenceInfo(user_id, True, None)


def off(user_id: str, at: int = 0) -> PresenceInfo:
    """``user_id`` offline since ``at`` seconds after T0."""
    return PresenceInfo(user_id, False, T0 + timedelta(seconds=at))


def live(info: PresenceInfo) -> PresenceChanged:
    """The live ``presence.update`` event saying ``info``."""
    return PresenceChanged(info.user_id, info.online, info.last_seen_at)


def subscribed(table: PresenceTable, *infos: PresenceInfo) -> None:
    """Subscribe the users of ``infos`` with ``infos`` as the snapshot."""
    mark = table.mark(info.user_id for info in infos)
    assert table.apply_snapshot(mark, infos, restore=False) == []


# --- bodies and replies ------------------------------------------------------------------


def test_request_bodies_and_reply() -> None:
    assert subscribe_body(("bob", "carol")) == {"user_ids": ["bob", "carol"]}
    assert unsubscribe_body(iter(["bob"])) == {"user_ids": ["bob"]}
    assert v.FIELD_USER_IDS == "user_ids"
    reply = {"users": [{"user_id": "bob", "online": True}, {"online": False}, "junk"]}
    assert parse_subscribe_reply(reply) == (on("bob"),)
    assert parse_subscribe_reply({}) == ()


# --- bookkeeping -------------------------------------------------------------------------


def test_subscribe_watches_in_order_and_keeps_the_snapshot() -> None:
    table = PresenceTable()
    mark = table.mark(["bob", "carol"])
    assert mark.counts == {"bob": 0, "carol": 0}
    assert mark.ids == ("bob", "carol")
    assert table.subscriptions == frozenset()  # watched only once the reply is in
    snapshot = (on("bob"), off("carol"), on("zed"))  # zed was not asked for
    assert table.apply_snapshot(mark, snapshot, restore=False) == []
    assert table.subscriptions == {"bob", "carol"}
    assert table.known("bob") == on("bob")
    assert table.known("carol") == off("carol")
    assert table.known("zed") is None
    subscribed(table, off("dave"), on("bob"))  # bob again: keeps its place
    assert table.watched == ("bob", "carol", "dave")


def test_unsubscribe_forgets_at_once() -> None:
    table = PresenceTable()
    subscribed(table, on("bob"), on("carol"))
    table.on_update(live(off("bob", 5)))
    table.forget(["bob", "nobody"])
    assert table.subscriptions == {"carol"}
    assert table.known("bob") is None
    assert table.restore_chunks() == [("carol",)]
    assert table.mark(["bob"]).counts == {"bob": 0}  # its live-update count is gone too


def test_live_updates_are_known_only_for_watched_users() -> None:
    table = PresenceTable()
    table.on_update(live(on("bob")))
    assert table.known("bob") is None
    subscribed(table, off("carol"))
    table.on_update(live(on("carol")))
    assert table.known("carol") == on("carol")


def test_restore_chunks_of_at_most_1000_in_order() -> None:
    table = PresenceTable()
    assert table.restore_chunks() == []
    ids = [f"u{i}" for i in range(2500)]
    for start in range(0, 2500, 1000):
        subscribed(table, *(on(u) for u in ids[start : start + 1000]))
    chunks = table.restore_chunks()
    assert [len(chunk) for chunk in chunks] == [v.MAX_PRESENCE_IDS, v.MAX_PRESENCE_IDS, 500]
    assert [u for chunk in chunks for u in chunk] == ids
    small = PresenceTable(chunk_size=2)
    subscribed(small, on("a"), on("b"), on("c"))
    assert small.restore_chunks() == [("a", "b"), ("c",)]
    with pytest.raises(ValueError, match="chunk_size"):
        PresenceTable(chunk_size=0)


# --- restore -----------------------------------------------------------------------------


def test_restore_publishes_only_the_changes_missed() -> None:
    table = PresenceTable()
    subscribed(table, on("bob"), on("carol"), off("dave", 1))
    (chunk,) = table.restore_chunks()
    mark = table.mark(chunk)
    snapshot = (off("bob", 7), on("carol"), off("dave", 1), on("carol"))
    assert table.apply_snapshot(mark, snapshot, restore=True) == [live(off("bob", 7))]
    assert table.known("bob") == off("bob", 7)
    # The same snapshot again (a second reconnect with no change): nothing to publish.
    assert table.apply_snapshot(table.mark(chunk), snapshot, restore=True) == []


def test_restore_does_not_subscribe_and_ignores_users_not_asked_for() -> None:
    table = PresenceTable()
    subscribed(table, on("bob"), on("carol"))
    mark = table.mark(["bob"])
    assert table.apply_snapshot(mark, (off("carol", 3), on("zed")), restore=True) == []
    assert table.known("carol") == on("carol")
    assert table.subscriptions == {"bob", "carol"}


def test_restore_ignores_users_unsubscribed_meanwhile() -> None:
    table = PresenceTable()
    subscribed(table, on("bob"), on("carol"))
    mark = table.mark(table.restore_chunks()[0])
    table.forget(["bob"])
    events = table.apply_snapshot(mark, (off("bob", 4), off("carol", 4)), restore=True)
    assert events == [live(off("carol", 4))]
    assert table.known("bob") is None
    assert table.subscriptions == {"carol"}


# --- a live update overtaking the snapshot ------------------------------------------------


def test_live_update_after_the_mark_wins_over_the_first_snapshot() -> None:
    table = PresenceTable()
    mark = table.mark(["bob", "carol"])
    table.on_update(live(off("bob", 9)))  # arrives before the ack: newer than its snapshot
    table.apply_snapshot(mark, (on("bob"), on("carol")), restore=False)
    assert table.known("bob") == off("bob", 9)
    assert table.known("carol") == on("carol")


def test_live_update_after_the_mark_wins_over_the_restore_snapshot() -> None:
    table = PresenceTable()
    subscribed(table, on("bob"), on("carol"))
    mark = table.mark(table.restore_chunks()[0])
    table.on_update(live(off("bob", 9)))
    events = table.apply_snapshot(mark, (on("bob"), off("carol", 8)), restore=True)
    assert events == [live(off("carol", 8))]  # the stale "bob online" is neither kept nor told
    assert table.known("bob") == off("bob", 9)


def test_live_update_before_the_mark_does_not_block_the_snapshot() -> None:
    table = PresenceTable()
    subscribed(table, on("bob"))
    table.on_update(live(off("bob", 2)))
    mark = table.mark(["bob"])
    assert table.apply_snapshot(mark, (on("bob"),), restore=True) == [live(on("bob"))]


# --- model-based -------------------------------------------------------------------------

USERS = ("a", "b", "c", "d", "e")
EXAMPLES = int(os.environ.get("UTD_MODEL_EXAMPLES", "50"))


@dataclass
class Told:
    """A message the client received about one user: what it said, as of when."""

    at: int
    info: PresenceInfo


@dataclass
class UnsubAck:
    """An unsubscribe's ack: sent at once, after every update sent before it."""

    ids: tuple[str, ...]


@dataclass
class Ack:
    """A subscribe reply: the snapshot the engine took when it got the request."""

    ref: int
    snapshot: tuple[Told, ...]


class PresenceMachine(RuleBasedStateMachine):
    """One session's presence table against a scripted engine with one socket at a time.

    A drop is followed at once by the next connection; the engine knows no subscription of
    it until the shell re-subscribes, chunk by chunk, so changes before that are missed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.truth = {u: off(u) for u in USERS}
        # The engine's side of the current socket.
        self.registered: set[str] = set()
        self.held: list[Ack] = []  # acks computed but not yet sent
        self.queue: deque[Told | Ack | UnsubAck] = deque()  # frames on the wire, in order
        # The client's side.
        self.table = PresenceTable(chunk_size=2)
        self.next_ref = 0
        self.pending: dict[int, tuple[PresenceMark, bool]] = {}  # ref -> (mark, restore)
        self.restore_left: list[tuple[str, ...]] = []
        self.told: dict[str, Told] = {}

    # --- helpers -------------------------------------------------------------------------

    def _request(self, ids: tuple[str, ...], *, restore: bool) -> None:
        mark = self.table.mark(ids)
        self.next_ref += 1
        self.pending[self.next_ref] = (mark, restore)
        self._engine_takes(self.next_ref, ids)

    def _engine_takes(self, ref: int, ids: tuple[str, ...]) -> None:
        self.registered.update(ids)
        snapshot = tuple(Told(self.now, self.truth[u]) for u in ids)
        self.held.append(Ack(ref, snapshot))

    def _tell(self, told: Told) -> None:
        best = self.told.get(told.info.user_id)
        if best is None or told.at >= best.at:
            self.told[told.info.user_id] = told

    @initialize(ids=st.lists(st.sampled_from(USERS), unique=True, min_size=1))
    def watching(self, ids: list[str]) -> None:
        """The session starts out watching some users, their snapshot in."""
        self._request(tuple(ids), restore=False)
        self.queue.append(self.held.pop())
        self._receive(self.queue.popleft())

    # --- the world -----------------------------------------------------------------------

    @rule(user=st.sampled_from(USERS))
    def presence_changes(self, user: str) -> None:
        self.now += 1
        old = self.truth[user]
        self.truth[user] = off(user, self.now) if old.online else on(user)
        if user in self.registered:
            self.queue.append(Told(self.now, self.truth[user]))

    @rule(
        changes=st.lists(st.sampled_from(USERS), max_size=2),
        acks=st.integers(1, 2),
        pick=st.integers(0, 3),
        frames=st.integers(1, 4),
    )
    def network(self, changes: list[str], acks: int, pick: int, frames: int) -> None:
        """Users change, the engine sends held acks (in any order), some frames arrive."""
        for user in changes:
            self.presence_changes(user)
        for _ in range(acks):
            if self.held:
                self.queue.append(self.held.pop(pick % len(self.held)))
        for _ in range(frames):
            if self.queue:
                self._receive(self.queue.popleft())

    def _receive(self, frame: Told | Ack | UnsubAck) -> None:
        if isinstance(frame, UnsubAck):
            self.table.left(frame.ids)
            return
        if isinstance(frame, Told):
            self._tell(frame)
            self.table.on_update(live(frame.info))
            return
        mark, restore = self.pending.pop(frame.ref)
        for told in frame.snapshot:
            if told.info.user_id not in mark.dropped:  # else: the later call wins
                self._tell(told)
        infos = tuple(told.info for told in frame.snapshot)
        before = {u: self.table.known(u) for u in USERS}
        watched_before = self.table.subscriptions
        events = self.table.apply_snapshot(mark, infos, restore=restore)
        # Events for the users watched before whose known presence this reply changed.
        changed = {u for u in watched_before if self.table.known(u) != before[u]}
        assert [ev.user_id for ev in events] == sorted(changed, key=mark.ids.index)
        for ev in events:
            assert before[ev.user_id] != PresenceInfo(ev.user_id, ev.online, ev.last_seen_at)
            assert self.table.known(ev.user_id) == PresenceInfo(
                ev.user_id, ev.online, ev.last_seen_at
            )
        if restore:
            self._restore_next_chunk()

    # --- the client ----------------------------------------------------------------------

    @rule(ids=st.lists(st.sampled_from(USERS), unique=True, min_size=1, max_size=3))
    def subscribe(self, ids: list[str]) -> None:
        self._request(tuple(ids), restore=False)

    @rule(ids=st.lists(st.sampled_from(USERS), unique=True, min_size=1, max_size=2))
    def unsubscribe(self, ids: list[str]) -> None:
        chosen = list(ids)  # also while the user's own subscribe of them is in flight
        self.table.forget(chosen)
        self.registered.difference_update(chosen)
        self.queue.append(UnsubAck(tuple(chosen)))

    @rule(luck=st.integers(0, 3), gap=st.lists(st.sampled_from(USERS), max_size=3))
    def drop_and_reconnect(self, luck: int, gap: list[str]) -> None:
        """The socket drops, ``gap`` users change meanwhile, the next one re-subscribes."""
        if luck != 3:
            return  # drops are rarer than the rest
        self.registered.clear()  # a new socket: the engine knows no subscription of it
        self.held.clear()
        self.queue.clear()
        for user in gap:
            self.presence_changes(user)  # nobody is told
        self.table.connected()
        # The restore's requests in flight fail (it starts over); the user's own subscribes
        # are idempotent and go out again on the new socket, each marked again.
        own = {ref: (mark, r) for ref, (mark, r) in self.pending.items() if not r}
        self.pending = own
        for ref, (mark, _) in own.items():
            self.table.resending(mark)
            self._engine_takes(ref, mark.ids)
        self.restore_left = self.table.restore_chunks()
        self._restore_next_chunk()

    def _restore_next_chunk(self) -> None:
        # The connect hook: one chunk at a time, the next once the previous one is in.
        if self.restore_left:
            self._request(self.restore_left.pop(0), restore=True)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def known_is_the_newest_truth_told(self) -> None:
        for user_id in self.table.subscriptions:
            assert self.table.known(user_id) == self.told[user_id].info, user_id


PresenceMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPresenceModel = PresenceMachine.TestCase


def test_an_unsubscribe_while_the_subscribe_is_in_flight_wins() -> None:
    table = PresenceTable()
    mark = table.mark(["bob", "carol"])
    table.forget(["bob"])  # the user unsubscribed before the subscribe's answer came
    table.apply_snapshot(mark, [on("bob"), on("carol")], restore=False)
    assert table.subscriptions == {"carol"}
    assert table.known("bob") is None
    assert table.known("carol") == on("carol")


def test_a_stale_update_in_flight_across_unsubscribe_and_subscribe_loses() -> None:
    """An update the engine sent before it took the unsubscribe cannot beat a later snapshot."""
    table = PresenceTable()
    table.apply_snapshot(table.mark(["bob"]), [on("bob")], restore=False)
    table.forget(["bob"])  # unsubscribe sent; bob goes offline, the engine already told us…
    mark = table.mark(["bob"])  # …and bob is subscribed again before that update arrives
    assert not table.on_update(live(off("bob", 5)))  # stale: before the unsubscribe's ack
    table.left(["bob"])  # the unsubscribe's ack
    # bob came back online meanwhile: the snapshot is the newest truth
    table.apply_snapshot(mark, [on("bob")], restore=False)
    assert table.known("bob") == on("bob")
    assert table.on_update(live(off("bob", 9)))  # after the acks: live again, and newer
    assert table.known("bob") == off("bob", 9)


def test_the_ack_of_a_later_subscribe_ends_the_stale_window_without_the_unsubscribe_ack() -> None:
    table = PresenceTable()
    table.forget(["bob"])  # its ack never comes (timed out)
    table.apply_snapshot(table.mark(["bob"]), [on("bob")], restore=False)
    assert table.on_update(live(off("bob", 3)))
    table.forget(["carol"])
    table.connected()  # a new socket: no unsubscribe is in flight on it
    assert table.on_update(live(on("carol")))


def test_a_subscribe_sent_again_on_a_new_connection_counts_updates_from_there() -> None:
    """Updates of the old connection are older than the resent request's snapshot."""
    table = PresenceTable()
    mark = table.mark(["bob"])
    table.on_update(live(on("bob")))  # on the old connection, before it dropped
    table.connected()
    table.resending(mark)  # the idempotent subscribe goes out again
    table.apply_snapshot(mark, [off("bob", 4)], restore=False)
    assert table.known("bob") == off("bob", 4)
