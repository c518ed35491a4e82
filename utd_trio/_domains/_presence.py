"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Presence: subscribe to users' online state (signaling capability).

The session remembers its subscriptions and the last presence it knew of each watched user.
On every reconnect a connect hook subscribes again (protocol §8) and publishes a
`PresenceChanged` for each user whose presence differs from what the session last knew — the
changes that happened while it was disconnected. A live ``presence.update`` that arrives while
that re-subscription is in flight is newer than its snapshot and wins.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._events import Event, PresenceChanged
from .._models import PresenceInfo
from .._protocol import _vocab as v
from .._protocol._parse import parse_presence_list
from .._rest._wire import check_ids
from .._session._core import SessionCore
from .._transport._client import SignalClient


class Presence:
    """``sig.presence``.

    Presence: subscribe to users' online state (signaling capability).
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._presence_subs: dict[str, None] = {}  # ordered set of watched user ids
        self._presence_known: dict[str, PresenceInfo] = {}
        self._presence_updates: dict[str, int] = {}  # live updates seen, per user
        core.add_event_hook(self._on_presence_event, PresenceChanged)
        core.add_connect_hook(self._restore_presence)

    @property
    def presence_subscriptions(self) -> frozenset[str]:
        """The user ids this session watches (re-subscribed on every reconnect)."""
        return frozenset(self._presence_subs)

    def known_presence(self, user_id: str) -> PresenceInfo | None:
        """The last presence this session knew of a watched user, if any."""
        if user_id not in self._presence_subs:
            return None
        return self._presence_known.get(user_id)

    async def subscribe_presence(self, user_ids: Sequence[str]) -> tuple[PresenceInfo, ...]:
        """Watch ``user_ids`` (at most 1000 per call) and return their presence now.

        Later changes arrive as `PresenceChanged` events. The subscription is remembered and
        restored after every reconnect, with a `PresenceChanged` for each change missed during
        the gap.

        Raises:
            ValueError: not a sequence of valid user ids, or more than 1000 of them.
            UTDStreamError: e.g. FEATURE_DISABLED (signaling off), TIMEOUT, CLOSED.
        """
        ids = list(dict.fromkeys(check_ids(user_ids, "user_ids", limit=v.MAX_PRESENCE_IDS)))
        seen = {user_id: self._presence_updates.get(user_id, 0) for user_id in ids}
        reply = await self._core.request(
            v.REQ_PRESENCE_SUBSCRIBE, {"user_ids": ids}, idempotent=True
        )
        snapshot = parse_presence_list(reply.get("users"))
        for user_id in ids:
            self._presence_subs[user_id] = None
        for info in snapshot:
            # A live update that overtook this reply is newer than the snapshot: keep it.
            if seen.get(info.user_id) == self._presence_updates.get(info.user_id, 0):
                self._presence_known[info.user_id] = info
        return snapshot

    async def unsubscribe_presence(self, user_ids: Sequence[str]) -> None:
        """Stop watching ``user_ids`` (unknown ids are fine).

        The session forgets them at once, so they are not restored on a reconnect even if
        this request fails.

        Raises:
            ValueError: not a sequence of valid user ids, or more than 1000 of them.
            UTDStreamError: e.g. FEATURE_DISABLED (signaling off), TIMEOUT, CLOSED.
        """
        ids = list(dict.fromkeys(check_ids(user_ids, "user_ids", limit=v.MAX_PRESENCE_IDS)))
        for user_id in ids:
            self._presence_subs.pop(user_id, None)
            self._presence_known.pop(user_id, None)
            self._presence_updates.pop(user_id, None)
        await self._core.request(v.REQ_PRESENCE_UNSUBSCRIBE, {"user_ids": ids}, idempotent=True)

    def _on_presence_event(self, event: Event) -> Event:
        """Record live presence (the event is published as is).

        The engine only sends updates of subscribed users, so these maps stay small.
        """
        if isinstance(event, PresenceChanged):
            user_id = event.user_id
            self._presence_known[user_id] = PresenceInfo(user_id, event.online, event.last_seen_at)
            self._presence_updates[user_id] = self._presence_updates.get(user_id, 0) + 1
        return event

    async def _restore_presence(self, client: SignalClient, generation: int) -> None:
        """Connect hook: subscribe again and publish the changes missed during the gap."""
        if generation <= 1 or not self._presence_subs:
            return
        ids = list(self._presence_subs)
        for start in range(0, len(ids), v.MAX_PRESENCE_IDS):
            chunk = ids[start : start + v.MAX_PRESENCE_IDS]
            seen = {user_id: self._presence_updates.get(user_id, 0) for user_id in chunk}
            reply = await client.request(v.REQ_PRESENCE_SUBSCRIBE, {"user_ids": chunk})
            for info in parse_presence_list(reply.get("users")):
                if info.user_id not in seen or info.user_id not in self._presence_subs:
                    continue  # not asked for, or unsubscribed meanwhile
                if self._presence_updates.get(info.user_id, 0) != seen[info.user_id]:
                    continue  # a live update arrived after this snapshot: it is newer
                if self._presence_known.get(info.user_id) != info:
                    self._presence_known[info.user_id] = info
                    self._core.publish(
                        PresenceChanged(info.user_id, info.online, info.last_seen_at)
                    )
