"""No message lost across a reconnect gap (protocol §8): the chat half of `Signaling`.

The session remembers, per conversation, the highest ``seq`` it delivered as a
`MessageReceived`, a bounded set of message ids it has seen (its own sends included), and the
latest engine wall-clock time it observed (each hello's ``server_time``, every message's
``created_at``, every receipt's ``at``).

After every reconnect a connect hook lists the conversations and

- for a conversation it has delivered from whose last ``seq`` is newer, pages the history
  ``after`` the last delivered seq until ``has_more`` is false;
- for a conversation it has not delivered from whose last message was created at or after
  the *moment of loss*, pages back with ``before`` from the newest page until it reaches
  older messages, and delivers those created at or after that moment.

The moment of loss is the latest engine time observed before the gap. That is never later
than the real loss (a half-dead socket may have swallowed frames the engine thinks it sent),
so nothing is skipped; it is earlier by at most the quiet time before the loss, and a message
in a conversation the session never delivered from cannot have been delivered anyway.

Recovered messages are published as ``MessageReceived(recovered=True)`` in ``seq`` order per
conversation. Live ``MessageReceived`` events that arrive on the new connection meanwhile are
held back and released afterwards, so missed messages always come before newer live ones;
duplicates are dropped by id (and by ``seq`` at or below the last delivered). The hook ends
with `RecoveryFinished` and never raises: a failure to fetch is reported there.

A history fetch that fails transiently (network, timeout, 5xx, 429) is tried again on the same
connection, up to `RECOVERY_ATTEMPTS` times 0.25 s / 0.5 s apart, while live events stay held.
A recovery that fails still releases the held live events, so the session keeps flowing; the
next reconnect then recovers from the same moment and the same per-conversation seqs as the
failed one, so missed messages still arrive — later than those live ones in that case, and
never twice: besides the ids, the session keeps, per connection since the gap, the span of
seqs it delivered live or sent, so what it already had is skipped even after the bounded id
window has moved on. A recovery cut short by another drop keeps the live events
held for the next one.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime
from typing import Final

import trio

from ._client import SignalClient
from ._core import SessionCore
from ._errors import ErrorCode, UTDStreamError
from ._events import Event, MessageReceived, ReceiptReceived, RecoveryFinished
from ._models import ChatMessage, Conversation

log = logging.getLogger("utd_trio.chat")

SEEN_IDS_MAX: Final = 10_000
"""How many message ids the session remembers for de-duplication."""

RECOVERY_PAGE: Final = 200
"""History page size used by recovery (the contract's maximum)."""

RECOVERY_ATTEMPTS: Final = 3
"""History fetches per recovery when they fail transiently (held live messages wait)."""

RECOVERY_RETRY_DELAY: Final = 0.25
"""Seconds before the second fetch; doubled before each further one."""

_TRANSIENT: Final = frozenset(
    {ErrorCode.NETWORK, ErrorCode.TIMEOUT, ErrorCode.SERVER, ErrorCode.RATE_LIMITED}
)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


class ChatRecovery(SessionCore):
    """Mixin of `Signaling`: delivery bookkeeping and recovery of missed messages."""

    def _install_domains(self) -> None:
        self._last_seq: dict[str, int] = {}
        self._seen_ids: OrderedDict[str, None] = OrderedDict()
        self._held: list[MessageReceived] = []
        self._recovered_generation = 1  # the first connection has nothing to recover
        self._time_generation = 0
        self._time_now: datetime | None = None  # latest engine time seen on this connection
        self._time_before: datetime | None = None  # ... on every earlier connection
        self._unrecovered_since: datetime | None = None
        self._unrecovered_floor: dict[str, int] | None = None  # last seqs before the gap
        # While a gap stays unrecovered: per conversation, the seq span each later connection
        # delivered live (or this session sent), as [low, high, generation].
        self._spans_since_gap: dict[str, list[list[int]]] = {}
        self.add_event_hook(self._on_chat_event, MessageReceived, ReceiptReceived)
        self.add_connect_hook(self._recover)
        super()._install_domains()

    def last_delivered_seq(self, conversation_id: str) -> int | None:
        """The highest ``seq`` delivered as `MessageReceived` in a conversation, if any."""
        return self._last_seq.get(conversation_id)

    # --- bookkeeping -----------------------------------------------------------------------

    def _observe(self, moment: datetime | None) -> None:
        """Record an engine wall-clock time seen on the current connection."""
        if self._time_generation != self.generation:
            self._time_before = _later(self._time_before, self._time_now)
            self._time_now = None
            self._time_generation = self.generation
        self._time_now = _later(self._time_now, moment)

    def _remember_id(self, message_id: str) -> None:
        self._seen_ids[message_id] = None
        self._seen_ids.move_to_end(message_id)
        while len(self._seen_ids) > SEEN_IDS_MAX:
            self._seen_ids.popitem(last=False)

    def _note_sent(self, message: ChatMessage) -> None:
        """Remember a message this session sent, so recovery never delivers it back."""
        self._remember_id(message.id)
        self._note_span(message)
        self._observe(message.created_at)

    def _note_span(self, message: ChatMessage) -> None:
        """After a failed recovery, widen this connection's delivered span of the conversation.

        The next recovery pages from the floors before the first gap, over everything
        delivered since; the spans tell those apart without relying on the bounded id window.
        A connection's live messages have no hole between its lowest and highest seq.
        """
        if self._unrecovered_floor is None:
            return
        spans = self._spans_since_gap.setdefault(message.conversation_id, [])
        if spans and spans[-1][2] == self.generation:
            span = spans[-1]
            span[0], span[1] = min(span[0], message.seq), max(span[1], message.seq)
        else:
            spans.append([message.seq, message.seq, self.generation])

    def _deliver(self, message: ChatMessage, floors: dict[str, int] | None = None) -> bool:
        """Record ``message`` as delivered; False if it is a duplicate (not to publish).

        A duplicate has a known id or a seq at or below the conversation's floor: the last
        delivered seq, or for recovery the last one delivered before the gap (and then also
        a seq inside a span delivered live since that gap).
        """
        cid = message.conversation_id
        seq = message.seq
        floor = (self._last_seq if floors is None else floors).get(cid)
        if message.id in self._seen_ids or (floor is not None and seq <= floor):
            return False
        if floors is None:
            self._note_span(message)
        elif any(low <= seq <= high for low, high, _ in self._spans_since_gap.get(cid, ())):
            return False
        self._remember_id(message.id)
        self._last_seq[cid] = max(self._last_seq.get(cid, 0), seq)
        return True

    def _on_chat_event(self, event: Event) -> Event | None:
        """Event hook: record times and deliveries; hold live messages during recovery."""
        if isinstance(event, ReceiptReceived):
            self._observe(event.at)
            return event
        if not isinstance(event, MessageReceived):
            return event
        self._observe(event.message.created_at)
        if self.generation > self._recovered_generation:
            self._held.append(event)
            return None
        return event if self._deliver(event.message) else None

    # --- recovery --------------------------------------------------------------------------

    async def _recover(self, client: SignalClient, generation: int) -> None:
        """Connect hook: fetch and publish what the gap swallowed, then release held events."""
        self._observe(client.hello.server_time)
        if generation <= 1:
            return
        if self._unrecovered_floor is None:
            self._unrecovered_since = self._time_before
            self._unrecovered_floor = dict(self._last_seq)
        delivered = 0
        error: str | None = None
        for attempt in range(RECOVERY_ATTEMPTS):
            if attempt:
                await trio.sleep(RECOVERY_RETRY_DELAY * 2 ** (attempt - 1))
            try:
                since, floors = self._unrecovered_since, self._unrecovered_floor
                delivered += await self._fetch_missed(since, floors)
            except UTDStreamError as exc:
                error = f"history could not be fetched: {exc}"
                if exc.code in _TRANSIENT:
                    continue  # live messages stay held: order is worth a short delay
            except Exception as exc:  # never let recovery take the session down
                log.exception("chat recovery failed")
                error = f"recovery failed: {exc!r}"
            else:
                error = None
            break
        if error is None:
            self._unrecovered_since = self._unrecovered_floor = None
            self._spans_since_gap.clear()
        self._recovered_generation = generation
        held, self._held = self._held, []
        for event in held:
            if self._deliver(event.message):
                self.publish(event)
        self.publish(RecoveryFinished(generation, error is None, delivered, error))

    async def _fetch_missed(self, since: datetime | None, floors: dict[str, int]) -> int:
        """Publish every missed message; return how many. Raises on a failed fetch.

        ``floors`` are the last seqs delivered before the gap; ``since`` the moment of loss.
        """
        if self.chat_enabled is False and not floors:
            return 0  # no chat on this plan and nothing known: nothing can have been missed
        delivered = 0
        unknown_without_time = False
        for conversation in await self.api.conversations():
            last = conversation.last_message
            if last is None:
                continue
            cid = conversation.conversation_id
            known = floors.get(cid)
            if known is not None:
                if last.seq > known:
                    delivered += await self._page_forward(cid, known, floors)
            elif since is None:
                unknown_without_time = True
            elif last.created_at is None or last.created_at >= since:
                delivered += await self._page_back(conversation, since, floors)
        if unknown_without_time:
            raise UTDStreamError(
                ErrorCode.PROTOCOL,
                "the engine sent no server_time; new conversations could not be checked",
            )
        return delivered

    def _publish_recovered(self, messages: list[ChatMessage], floors: dict[str, int]) -> int:
        count = 0
        for message in sorted(messages, key=lambda m: m.seq):
            if self._deliver(message, floors):
                self.publish(MessageReceived(message, recovered=True))
                count += 1
        return count

    async def _page_forward(self, cid: str, after: int, floors: dict[str, int]) -> int:
        """Page ``after`` the last delivered seq until ``has_more`` is false."""
        count = 0
        while True:
            page = await self.api.history(cid, after=after, limit=RECOVERY_PAGE)
            newer = [m for m in page.messages if m.seq > after]
            count += self._publish_recovered(newer, floors)
            if not page.has_more or not newer:
                return count
            after = max(m.seq for m in newer)

    async def _page_back(
        self, conversation: Conversation, since: datetime, floors: dict[str, int]
    ) -> int:
        """Page back from the newest message until one is older than ``since``."""
        cid = conversation.conversation_id
        found: list[ChatMessage] = []
        before: int | None = None
        while True:
            page = await self.api.history(cid, before=before, limit=RECOVERY_PAGE)
            messages = [m for m in page.messages if before is None or m.seq < before]
            fresh = [m for m in messages if m.created_at is None or m.created_at >= since]
            found.extend(fresh)
            if not page.has_more or not messages or len(fresh) < len(messages):
                return self._publish_recovered(found, floors)
            before = min(m.seq for m in messages)
