"""Presence subscriptions without I/O: what is watched, what is known, what to publish.

`PresenceTable` is the session's memory of presence (contract §6–§8): the ordered set of
watched users, the last `PresenceInfo` it knew of each, and how many live ``presence.update``
events it has seen per user. It has no I/O, no clock and no tasks; the async shell
(`utd_trio._domains._presence`) sends the requests and publishes what the table returns:

- ``subscribe``: ``mark(ids)`` right before the request, then ``apply_snapshot(mark, users,
  restore=False)`` with the reply: the ids become watched, and each user's snapshot is kept
  unless a live update arrived after the mark (it is newer than the snapshot and wins); a
  change it brings for a user watched already is returned to publish, as a restore would;
- after a reconnect: ``restore_chunks()`` (at most `MAX_PRESENCE_IDS` ids each), and per chunk
  ``mark`` + request + ``apply_snapshot(..., restore=True)``, which returns a `PresenceChanged`
  for each user whose presence differs from what the session knew (the changes missed during
  the gap), under the same "a later live update wins" rule, ignoring users unsubscribed
  meanwhile;
- ``on_update(event)`` for every live update; ``forget(ids)`` on unsubscribe (at once, even if
  the request then fails), then ``left(ids)`` at the unsubscribe's ack.

Where the answers are taken matters. The shell applies a subscribe's snapshot and an
unsubscribe's ack *at the ack's place in the inbound order* (in the receive loop), so:

- a live update received after the mark of the request's latest send (`mark`, and
  `resending` for a send again on a new connection) is newer than the snapshot and wins;
- an update received between ``forget`` and the unsubscribe's ack was sent before the engine
  dropped the subscription: it is stale, and neither recorded nor published — a subscribe
  made right after cannot be overruled by it. A new connection (`connected`) or the ack of a
  later subscribe of the user ends that window even if the unsubscribe's ack never comes.

The request bodies and the reply are built and read here too (`subscribe_body`,
`unsubscribe_body`, `parse_subscribe_reply`), mirroring how inbound frames are decoded.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._events import PresenceChanged
from .._models import PresenceInfo
from . import _vocab as v
from ._parse import parse_presence_list

__all__ = [
    "PresenceMark",
    "PresenceTable",
    "parse_subscribe_reply",
    "subscribe_body",
    "unsubscribe_body",
]


def subscribe_body(user_ids: Iterable[str]) -> dict[str, Any]:
    """The data of a ``presence.subscribe`` request for ``user_ids`` (already checked)."""
    return {v.FIELD_USER_IDS: list(user_ids)}


def unsubscribe_body(user_ids: Iterable[str]) -> dict[str, Any]:
    """The data of a ``presence.unsubscribe`` request for ``user_ids`` (already checked)."""
    return {v.FIELD_USER_IDS: list(user_ids)}


def parse_subscribe_reply(reply: Mapping[str, Any]) -> tuple[PresenceInfo, ...]:
    """The presence snapshot in a ``presence.subscribe`` ack (unusable items are skipped)."""
    return parse_presence_list(reply.get(v.PRESENCE_USERS))


@dataclass(slots=True, weakref_slot=True, eq=False)
class PresenceMark:
    """The live-update counts of some users, taken right before a subscribe request.

    ``counts`` is keyed by the requested ids, in request order. A snapshot entry is trusted
    only for a user whose count has not moved since the mark (taken again by
    `PresenceTable.resending` when the request goes out on a new connection).
    """

    counts: Mapping[str, int]
    dropped: set[str] = field(default_factory=set[str])
    """Ids unsubscribed while this request was in flight: its answer no longer counts."""

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids the request asked for, in order."""
        return tuple(self.counts)


class PresenceTable:
    """Watched users, their last known presence and the live-update counts (sans-IO).

    ``chunk_size`` is how many ids one ``presence.subscribe`` may carry (the contract's
    `MAX_PRESENCE_IDS`; smaller only in tests).
    """

    __slots__ = ("_chunk_size", "_in_flight", "_known", "_leaving", "_subs", "_updates")

    def __init__(self, chunk_size: int = v.MAX_PRESENCE_IDS) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self._chunk_size = chunk_size
        self._subs: dict[str, None] = {}  # ordered set of watched user ids
        self._known: dict[str, PresenceInfo] = {}
        self._updates: dict[str, int] = {}  # live updates seen, per user
        # Marks of requests still waiting for their answer (weak: a failed request's goes);
        # made on the first mark (a WeakSet is ~0.9 KiB: idle sessions keep none).
        self._in_flight: weakref.WeakSet[PresenceMark] | None = None
        # Ids unsubscribed whose unsubscribe's ack has not come yet: their updates are stale.
        self._leaving: dict[str, int] = {}

    # --- reading ------------------------------------------------------------------------

    @property
    def subscriptions(self) -> frozenset[str]:
        """The user ids this session watches."""
        return frozenset(self._subs)

    @property
    def watched(self) -> tuple[str, ...]:
        """The watched user ids, in the order they were first subscribed."""
        return tuple(self._subs)

    def known(self, user_id: str) -> PresenceInfo | None:
        """The last presence known of a watched user (None if unwatched or not known yet)."""
        if user_id not in self._subs:
            return None
        return self._known.get(user_id)

    # --- subscribing --------------------------------------------------------------------

    def restore_chunks(self) -> list[tuple[str, ...]]:
        """What to subscribe again after a reconnect: every watched id, in chunks, in order."""
        ids = tuple(self._subs)
        size = self._chunk_size
        return [ids[start : start + size] for start in range(0, len(ids), size)]

    def mark(self, user_ids: Iterable[str]) -> PresenceMark:
        """Remember the live-update counts of ``user_ids`` before asking for their snapshot."""
        updates = self._updates
        mark = PresenceMark({user_id: updates.get(user_id, 0) for user_id in user_ids})
        if self._in_flight is None:
            self._in_flight = weakref.WeakSet()
        self._in_flight.add(mark)
        return mark

    def resending(self, mark: PresenceMark) -> None:
        """The request of ``mark`` goes out again (a new connection): count from now.

        Updates of the old connection came before this send, so they are older than the
        snapshot it will return; only those received from now on are newer.
        """
        updates = self._updates
        mark.counts = {user_id: updates.get(user_id, 0) for user_id in mark.counts}

    def apply_snapshot(
        self, mark: PresenceMark, users: Sequence[PresenceInfo], *, restore: bool
    ) -> list[PresenceChanged]:
        """Take in a subscribe reply; return the `PresenceChanged` events to publish.

        Only users named in ``mark`` count. A user whose live-update count moved since the
        mark keeps what the live update said: it arrived after the snapshot was asked for,
        so it is newer.

        ``restore=False`` (the user's own subscribe): the marked ids become watched (in their
        order, after those already watched) and each snapshot entry becomes known presence —
        except ids unsubscribed while the request was in flight: the later call wins.

        ``restore=True`` (re-subscribing after a reconnect): users unsubscribed meanwhile are
        ignored.

        Either way, a `PresenceChanged` is returned for each user watched *before* this reply
        whose snapshot differs from the presence the session knew: a change the session had
        not been told of (missed during a gap). Which of a restore and a user's own subscribe
        resent after the same drop answers first then makes no difference. Users new to the
        session get no event: their presence is what the subscribe call returns.
        """
        if self._in_flight is not None:
            self._in_flight.discard(mark)
        counts = {u: n for u, n in mark.counts.items() if u not in mark.dropped}
        if self._leaving:
            # This ack comes after the ack of any earlier unsubscribe on its socket.
            for user_id in counts:
                self._leaving.pop(user_id, None)
        subs = self._subs
        watched_before = {u for u in counts if u in subs}
        if not restore:
            for user_id in counts:
                subs[user_id] = None
        updates = self._updates
        known = self._known
        changed: list[PresenceChanged] = []
        for info in users:
            user_id = info.user_id
            if user_id not in counts or user_id not in subs:
                continue  # not asked for, or unsubscribed meanwhile
            if updates.get(user_id, 0) != counts[user_id]:
                continue  # a live update arrived after this snapshot: it is newer
            if known.get(user_id) != info:
                known[user_id] = info
                if user_id in watched_before:
                    changed.append(PresenceChanged(user_id, info.online, info.last_seen_at))
        return changed

    # --- live updates and unsubscribing -------------------------------------------------

    def on_update(self, event: PresenceChanged) -> bool:
        """Record a live ``presence.update``: True to publish it, False when it is stale.

        Stale: the user was unsubscribed and the unsubscribe's ack has not come yet (the
        engine sent it before it dropped the subscription). The engine only sends updates of
        subscribed users, so the table stays small.
        """
        user_id = event.user_id
        if user_id in self._leaving:
            return False
        self._known[user_id] = PresenceInfo(user_id, event.online, event.last_seen_at)
        self._updates[user_id] = self._updates.get(user_id, 0) + 1
        return True

    def forget(self, user_ids: Iterable[str]) -> None:
        """Stop watching ``user_ids`` at once: they are not restored on a reconnect."""
        ids = set(user_ids)
        for user_id in ids:
            self._subs.pop(user_id, None)
            self._known.pop(user_id, None)
            self._updates.pop(user_id, None)
        for mark in self._in_flight or ():
            mark.dropped.update(ids & mark.counts.keys())
        leaving = self._leaving
        for user_id in ids:
            leaving[user_id] = leaving.get(user_id, 0) + 1

    def left(self, user_ids: Iterable[str]) -> None:
        """The ack of the unsubscribe of ``user_ids`` arrived: their updates count again."""
        leaving = self._leaving
        for user_id in set(user_ids):
            n = leaving.get(user_id, 0)
            if n > 1:
                leaving[user_id] = n - 1
            else:
                leaving.pop(user_id, None)

    def connected(self) -> None:
        """A new connection: the engine holds no subscription of it, nothing is in flight."""
        self._leaving.clear()
