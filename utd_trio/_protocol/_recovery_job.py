"""The history fetches that close a reconnect gap, planned without I/O (contract §8).

A `RecoveryJob` is one attempt to recover what a gap swallowed. It asks for the conversation
listing, then pages each conversation's history, and feeds every message to the
`DeliveryLedger`, which says what is new. The shell performs each `Request` and sends the
answer back::

    job = RecoveryJob(ledger, chat_enabled=...)
    request = job.start()
    while request is not None:
        request = job.send(await perform(request))
        publish(job.drain())

- A conversation with a floor whose last ``seq`` is newer is paged ``after`` the floor until
  ``has_more`` is false; every seq up to the last one seen is then proven.
- A conversation without a floor whose last message was created at or after the gap's start
  (`DeliveryLedger.open_since`) is paged back from the newest page until a message is older
  than that moment; those at or after it are published, in ``seq`` order. One whose last
  message is older than that moment is proven up to it with no fetch.

Messages the ledger has accounted for (delivered, or this session's own sends) are skipped,
so a page may be fetched any number of times. If a request fails, the shell stops the job and
`incomplete` names the conversations it could not finish (None, meaning any, when even the
listing failed): the ledger keeps what was delivered, and a later attempt starts over.
Whether there is a later attempt on the same connection is `retry_delay`'s decision: a
transient failure (network, timeout, 5xx, 429) is tried again up to `RECOVERY_ATTEMPTS` times,
0.25 s then 0.5 s apart, while live messages stay held; any other failure ends the recovery.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from .._errors import ErrorCode, UTDStreamError
from .._models import ChatMessage, Conversation, HistoryPage
from ._delivery import DeliveryLedger

__all__ = [
    "RECOVERY_ATTEMPTS",
    "FetchPage",
    "ListConversations",
    "RecoveryJob",
    "Request",
    "retry_delay",
]

RECOVERY_ATTEMPTS: Final = 3
"""Recovery jobs per connection when they fail transiently (held live messages wait)."""

RECOVERY_RETRY_DELAY: Final = 0.25
"""Seconds before the second job; doubled before each further one."""

_TRANSIENT: Final = frozenset(
    {ErrorCode.NETWORK, ErrorCode.TIMEOUT, ErrorCode.SERVER, ErrorCode.RATE_LIMITED}
)


def retry_delay(error: UTDStreamError, failed: int) -> float | None:
    """Job number ``failed`` (1-based) failed with ``error``: seconds before the next, or None.

    None ends the recovery: the failure is not transient, or the attempts are used up.
    """
    if error.code not in _TRANSIENT or failed >= RECOVERY_ATTEMPTS:
        return None
    return RECOVERY_RETRY_DELAY * float(2 ** (failed - 1))


RECOVERY_PAGE: Final = 200
"""History page size used by recovery (the contract's maximum)."""


@dataclass(frozen=True, slots=True)
class ListConversations:
    """Request: the user's conversations with their last message."""


@dataclass(frozen=True, slots=True)
class FetchPage:
    """Request: one page of a conversation's history (``after`` or ``before`` a seq)."""

    conversation_id: str
    after: int | None = None
    before: int | None = None
    limit: int = RECOVERY_PAGE


Request = ListConversations | FetchPage
Answer = tuple[Conversation, ...] | HistoryPage
_Steps = Generator[Request, Answer, None]


class RecoveryJob:
    """One recovery attempt: requests to perform, messages to publish, what is incomplete."""

    def __init__(
        self,
        ledger: DeliveryLedger,
        *,
        chat_enabled: bool | None,
        page_size: int = RECOVERY_PAGE,
    ) -> None:
        self._ledger = ledger
        self._page_size = page_size
        self._chat_enabled = chat_enabled
        self._since = ledger.open_since
        self._steps = self._run()
        self._out: list[ChatMessage] = []
        self._listed = False
        self._pending: set[str] = set()
        self.delivered = 0
        """Messages recovered (published) by this job so far."""
        self.error: str | None = None
        """Set when the job finished without being able to check everything."""

    @property
    def incomplete(self) -> frozenset[str] | None:
        """Conversations this job has not (yet) recovered; None: any (it has no listing)."""
        return frozenset(self._pending) if self._listed else None

    def start(self) -> Request | None:
        """The first request, or None when there is nothing to recover."""
        return next(self._steps, None)

    def send(self, answer: Answer) -> Request | None:
        """The answer to the last request; returns the next request, or None when done."""
        try:
            return self._steps.send(answer)
        except StopIteration:
            return None

    def drain(self) -> list[ChatMessage]:
        """The recovered messages to publish now, in ``seq`` order per conversation."""
        out, self._out = self._out, []
        return out

    # --- the plan ------------------------------------------------------------------------

    def _run(self) -> _Steps:
        if self._chat_enabled is False and not self._ledger.known():
            return  # no chat on this plan and nothing known: nothing can have been missed
        listing = yield ListConversations()
        if not isinstance(listing, tuple):
            raise TypeError("ListConversations needs a tuple of Conversation")
        forward: list[tuple[str, int]] = []
        back: list[str] = []
        unchecked: set[str] = set()
        for conversation in listing:
            last = conversation.last_message
            if last is None:
                continue
            cid = conversation.conversation_id
            floor = self._ledger.floor(cid)
            if floor is not None:
                if last.seq > floor:
                    forward.append((cid, floor))
            elif self._since is None:
                unchecked.add(cid)
            elif last.created_at is None or last.created_at >= self._since:
                back.append(cid)
            else:  # all of it is older than the gap: received before it, or not owed
                self._ledger.proven_up_to(cid, last.seq)
        self._pending = {cid for cid, _ in forward} | set(back) | unchecked
        self._listed = True
        for cid, floor in forward:
            yield from self._page_forward(cid, floor)
            self._pending.discard(cid)
        for cid in back:
            yield from self._page_back(cid, self._since)
            self._pending.discard(cid)
        if unchecked:
            self.error = "the engine sent no server_time; new conversations could not be checked"

    def _page(self, answer: Answer, cid: str) -> HistoryPage:
        if not isinstance(answer, HistoryPage):
            raise TypeError("FetchPage needs a HistoryPage")
        return answer

    def _page_forward(self, cid: str, after: int) -> _Steps:
        top = after
        while True:
            page = self._page((yield FetchPage(cid, after=after, limit=self._page_size)), cid)
            newer = sorted(
                (m for m in page.messages if m.seq > after and m.conversation_id == cid),
                key=lambda m: m.seq,
            )
            self._publish(newer)
            if newer:
                top = after = newer[-1].seq
            if not page.has_more or not newer:
                break
        self._ledger.proven_up_to(cid, top)

    def _page_back(self, cid: str, since: datetime | None) -> _Steps:
        found: list[ChatMessage] = []
        before: int | None = None
        top: int | None = None
        while True:
            page = self._page((yield FetchPage(cid, before=before, limit=self._page_size)), cid)
            messages = [
                m
                for m in page.messages
                if (before is None or m.seq < before) and m.conversation_id == cid
            ]
            if not messages:
                break
            if top is None:
                top = max(m.seq for m in messages)
            fresh = [m for m in messages if _at_or_after(m.created_at, since)]
            found.extend(fresh)
            if not page.has_more or len(fresh) < len(messages):
                break
            before = min(m.seq for m in messages)
        self._publish(sorted(found, key=lambda m: m.seq))
        if top is not None:
            self._ledger.proven_up_to(cid, top)

    def _publish(self, messages: list[ChatMessage]) -> None:
        for message in messages:
            if self._ledger.recovered(message):
                self._out.append(message)
                self.delivered += 1


def _at_or_after(moment: datetime | None, since: datetime | None) -> bool:
    return moment is None or since is None or moment >= since
