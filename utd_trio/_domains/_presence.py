"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Presence: subscribe to users' online state (signaling capability).

The state — the watched users, the last presence known of each, the "a live update newer than
the snapshot wins" rule — lives in the sans-IO `PresenceTable` (`utd_trio._protocol._presence`)
held by the session's `SessionProtocol`, which also takes every live update in the receive
loop. This component only sends the requests; their answers go into the table *where they
arrived* among the inbound frames (the request's ``on_reply``), which is what lets the table
tell a stale update from a newer one. On every reconnect a connect hook subscribes again
(protocol §8) and publishes a `PresenceChanged` for each user whose presence differs from what
the session last knew — the changes that happened while it was disconnected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._errors import UTDStreamError
from .._events import Event
from .._models import PresenceInfo
from .._protocol import _vocab as v
from .._protocol._presence import (
    PresenceMark,
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
        self._table = core.protocol.presence
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
        table = self._table
        mark = table.mark(ids)
        taker = _SnapshotTaker(table, mark, self._core.publish, restore=False)
        await self._core.request(
            v.REQ_PRESENCE_SUBSCRIBE,
            subscribe_body(ids),
            idempotent=True,
            on_reply=taker,
            on_resend=lambda: table.resending(mark),
        )
        return taker.snapshot

    async def unsubscribe_presence(self, user_ids: Sequence[str]) -> None:
        """Stop watching ``user_ids`` (unknown ids are fine).

        The session forgets them at once, so they are not restored on a reconnect even if
        this request fails.

        Raises:
            ValueError: not a sequence of valid user ids, or more than 1000 of them.
            UTDStreamError: e.g. FEATURE_DISABLED (signaling off), TIMEOUT, CLOSED.
        """
        ids = list(dict.fromkeys(check_ids(user_ids, "user_ids", limit=v.MAX_PRESENCE_IDS)))
        table = self._table
        table.forget(ids)
        await self._core.request(
            v.REQ_PRESENCE_UNSUBSCRIBE,
            unsubscribe_body(ids),
            idempotent=True,
            on_reply=lambda _data, _error: table.left(ids),
        )

    async def _restore_presence(self, client: SignalClient, generation: int) -> None:
        """Connect hook: subscribe again and publish the changes missed during the gap."""
        if generation <= 1:
            return
        table = self._table
        for chunk in table.restore_chunks():
            taker = _SnapshotTaker(table, table.mark(chunk), self._core.publish, restore=True)
            await client.request(v.REQ_PRESENCE_SUBSCRIBE, subscribe_body(chunk), on_reply=taker)


class _SnapshotTaker:
    """A subscribe's ``on_reply``: its snapshot into the table where the ack arrived (once)."""

    __slots__ = ("_mark", "_publish", "_restore", "_table", "snapshot")

    def __init__(
        self,
        table: PresenceTable,
        mark: PresenceMark,
        publish: Callable[[Event], None],
        *,
        restore: bool,
    ) -> None:
        self._table = table
        self._mark = mark
        self._publish = publish
        self._restore = restore
        self.snapshot: tuple[PresenceInfo, ...] = ()
        """The users' presence the ack carried (what ``subscribe_presence`` returns)."""

    def __call__(self, data: dict[str, Any] | None, error: UTDStreamError | None) -> None:
        if data is None:
            return
        self.snapshot = parse_subscribe_reply(data)
        events = self._table.apply_snapshot(self._mark, self.snapshot, restore=self._restore)
        for event in events:
            self._publish(event)
