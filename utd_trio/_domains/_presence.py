"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Presence: subscribe to users' online state (signaling capability).

The state — the watched users, the last presence known of each, the "a live update newer than
the snapshot wins" rule — lives in the sans-IO `PresenceTable` (`utd_trio._protocol._presence`);
this component only sends the requests and publishes what the table returns. On every
reconnect a connect hook subscribes again (protocol §8) and publishes a `PresenceChanged` for
each user whose presence differs from what the session last knew — the changes that happened
while it was disconnected.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._events import Event, PresenceChanged
from .._models import PresenceInfo
from .._protocol import _vocab as v
from .._protocol._presence import (
    PresenceTable,
    parse_subscribe_reply,
    subscribe_body,
    unsubscribe_body,
)
from .._protocol._validate import check_ids
from .._session._core import SessionCore
from .._transport._client import SignalClient


class Presence:
    """``sig.presence``.

    Presence: subscribe to users' online state (signaling capability).
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._table = PresenceTable()
        core.add_event_hook(self._on_presence_event, PresenceChanged)
        core.add_connect_hook(self._restore_presence)

    @property
    def presence_subscriptions(self) -> frozenset[str]:
        """The user ids this session watches (re-subscribed on every reconnect)."""
        return self._table.subscriptions

    def known_presence(self, user_id: str) -> PresenceInfo | None:
        """The last presence this session knew of a watched user, if any."""
        return self._table.known(user_id)

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
        mark = self._table.mark(ids)
        reply = await self._core.request(
            v.REQ_PRESENCE_SUBSCRIBE, subscribe_body(ids), idempotent=True
        )
        snapshot = parse_subscribe_reply(reply)
        self._table.apply_snapshot(mark, snapshot, restore=False)
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
        self._table.forget(ids)
        await self._core.request(v.REQ_PRESENCE_UNSUBSCRIBE, unsubscribe_body(ids), idempotent=True)

    def _on_presence_event(self, event: Event) -> Event:
        """Record live presence in the table (the event is published as is)."""
        if isinstance(event, PresenceChanged):
            self._table.on_update(event)
        return event

    async def _restore_presence(self, client: SignalClient, generation: int) -> None:
        """Connect hook: subscribe again and publish the changes missed during the gap."""
        if generation <= 1:
            return
        table = self._table
        for chunk in table.restore_chunks():
            mark = table.mark(chunk)
            reply = await client.request(v.REQ_PRESENCE_SUBSCRIBE, subscribe_body(chunk))
            for event in table.apply_snapshot(mark, parse_subscribe_reply(reply), restore=True):
                self._core.publish(event)
