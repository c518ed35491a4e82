"""State of the chat domain of the reference engine: conversations, messages, receipt marks.

Pure state, no I/O: ``_chat.py`` (WebSocket requests) and ``_chat_rest.py`` (REST) read and
change it and do the sending. Use it as ``state.domain(ChatStore)``.

Rules (protocol §4, §6, §10, plus this engine's choices where the contract is silent):

- Conversation ids: ``dm:<a>:<b>`` with the two identities sorted; ``group:<gid>``.
- ``seq`` starts at 1 and is strictly increasing per conversation.
- Idempotency on ``client_id`` is per sender and kept for as long as the message is stored
  (this engine never deletes messages; retention only hides them from reads).
- Retention (``history_days``): a message created more than that many days ago (engine wall
  clock) is not returned by history, ``last_message`` or ``unread``.
- Receipt marks are per user and conversation; ``read`` implies ``delivered``; a mark only
  moves forward, clamped to the conversation's last seq.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from ._errors import EngineError, JSONObject
from ._groups_state import GroupStore

__all__ = [
    "DELIVERED",
    "READ",
    "ChatStore",
    "ConversationRecord",
    "MessageRecord",
    "Page",
    "ReceiptStatus",
    "Thread",
    "dm_id",
    "group_conversation_id",
    "new_message_id",
    "page_of",
    "resolve",
    "retention_cutoff",
]

ReceiptStatus = Literal["delivered", "read"]
"""The status of a receipt."""

DELIVERED: Final = "delivered"
READ: Final = "read"


def dm_id(a: str, b: str) -> str:
    """The conversation id of the DM between ``a`` and ``b``: ``dm:<a>:<b>``, sorted."""
    first, second = sorted((a, b))
    return f"dm:{first}:{second}"


def group_conversation_id(group_id: str) -> str:
    """The conversation id of a group's messages: ``group:<gid>``."""
    return f"group:{group_id}"


def new_message_id() -> str:
    """A fresh engine-made message id."""
    return "msg_" + secrets.token_hex(12)


@dataclass(frozen=True)
class MessageRecord:
    """One stored message: its wire object and the wall-clock moment it was created."""

    wire: JSONObject
    created: datetime
    sender: str

    @property
    def seq(self) -> int:
        """The message's seq in its conversation."""
        seq: int = self.wire["seq"]
        return seq


@dataclass
class ConversationRecord:
    """One conversation: its messages in seq order and each user's receipt marks."""

    conversation_id: str
    kind: Literal["dm", "group"]
    messages: list[MessageRecord] = field(default_factory=list[MessageRecord])
    delivered: dict[str, int] = field(default_factory=dict[str, int])
    read: dict[str, int] = field(default_factory=dict[str, int])
    activity: int = 0
    """Store-wide counter of the last change, for newest-first listing."""

    @property
    def last_seq(self) -> int:
        """The seq of the newest message (0 when there is none)."""
        return self.messages[-1].seq if self.messages else 0

    def retained(self, cutoff: datetime | None) -> list[MessageRecord]:
        """Messages created at or after ``cutoff`` (all when None), ascending by seq."""
        if cutoff is None:
            return self.messages
        # Messages are appended in creation order, but the wall clock may move backwards in
        # tests, so filter rather than bisect.
        return [m for m in self.messages if m.created >= cutoff]

    def mark(self, user_id: str, status: ReceiptStatus, up_to_seq: int) -> int | None:
        """Advance ``user_id``'s mark to ``up_to_seq`` (clamped); the new mark, or None.

        None means nothing moved (no receipt is due). ``read`` moves ``delivered`` too.
        """
        up_to = min(max(up_to_seq, 0), self.last_seq)
        marks = self.read if status == READ else self.delivered
        if up_to <= marks.get(user_id, 0):
            return None
        marks[user_id] = up_to
        if status == READ and up_to > self.delivered.get(user_id, 0):
            self.delivered[user_id] = up_to
        return up_to


@dataclass(frozen=True)
class Page:
    """One history page: messages ascending by seq, and whether more lie that way."""

    messages: list[MessageRecord]
    has_more: bool

    def wire(self) -> JSONObject:
        """The REST body ``{"data": [message...], "has_more"}``."""
        return {"data": [dict(m.wire) for m in self.messages], "has_more": self.has_more}


def page_of(
    messages: list[MessageRecord], *, after: int | None, before: int | None, limit: int
) -> Page:
    """Cut one page out of ascending ``messages`` by the paging rules of protocol §4.

    With ``after``: the oldest messages with ``seq > after`` (and ``< before`` if given);
    ``has_more`` says newer ones remain. Without: the newest (with ``seq < before`` if given);
    ``has_more`` says older ones remain. Pages are ascending either way.
    """
    window = [
        m
        for m in messages
        if (after is None or m.seq > after) and (before is None or m.seq < before)
    ]
    if after is not None:
        return Page(window[:limit], len(window) > limit)
    return Page(window[-limit:], len(window) > limit)


class ChatStore:
    """Every conversation of an engine, per project."""

    def __init__(self) -> None:
        self._conversations: dict[tuple[str, str], ConversationRecord] = {}
        self._by_client_id: dict[tuple[str, str, str], MessageRecord] = {}
        self._dms_of: dict[tuple[str, str], dict[str, None]] = {}
        self._activity = 0

    def get(self, app_id: str, conversation_id: str) -> ConversationRecord | None:
        """The conversation, None if it holds no message and no mark yet."""
        return self._conversations.get((app_id, conversation_id))

    def open(
        self, app_id: str, conversation_id: str, kind: Literal["dm", "group"]
    ) -> ConversationRecord:
        """The conversation, created empty if new."""
        key = (app_id, conversation_id)
        record = self._conversations.get(key)
        if record is None:
            record = self._conversations[key] = ConversationRecord(conversation_id, kind)
        return record

    def by_client_id(self, app_id: str, sender: str, client_id: str) -> MessageRecord | None:
        """The message ``sender`` already sent with ``client_id``, if any."""
        return self._by_client_id.get((app_id, sender, client_id))

    def append(
        self,
        app_id: str,
        conversation: ConversationRecord,
        fields: JSONObject,
        *,
        sender: str,
        created: datetime,
        created_at: str,
        participants: Iterable[str],
    ) -> MessageRecord:
        """Store a new message with the next seq and return it.

        ``fields`` holds the message's payload (``client_id``, ``to``/``group_id``, ``text``,
        ``attachment``, ``metadata``); the store adds ``id``, ``conversation_id``, ``seq``,
        ``from`` and ``created_at``.
        """
        wire: JSONObject = {
            "id": new_message_id(),
            "conversation_id": conversation.conversation_id,
            "seq": conversation.last_seq + 1,
            "from": sender,
            **fields,
            "created_at": created_at,
        }
        record = MessageRecord(wire, created, sender)
        conversation.messages.append(record)
        self._activity += 1
        conversation.activity = self._activity
        client_id = fields.get("client_id")
        if isinstance(client_id, str):
            self._by_client_id[(app_id, sender, client_id)] = record
        if conversation.kind == "dm":
            for user in participants:
                self._dms_of.setdefault((app_id, user), {})[conversation.conversation_id] = None
        return record

    def dms_of(self, app_id: str, user_id: str) -> list[ConversationRecord]:
        """The DMs of ``user_id`` that hold at least one message."""
        ids = self._dms_of.get((app_id, user_id), {})
        return [self._conversations[(app_id, cid)] for cid in ids]


def retention_cutoff(now: datetime, history_days: int | None) -> datetime | None:
    """The oldest creation moment still visible under ``history_days`` (None: no limit)."""
    if history_days is None:
        return None
    return now - timedelta(days=history_days)


@dataclass(frozen=True)
class Thread:
    """A conversation id resolved for one user: its kind and current participants."""

    conversation_id: str
    kind: Literal["dm", "group"]
    participants: tuple[str, ...]


def resolve(groups: GroupStore, app_id: str, user_id: str, conversation_id: str) -> Thread:
    """The conversation ``user_id`` names, with its participants.

    A DM id the user is not part of → 403; an unknown group → 404, one the user is not a
    member of → 403; an id of neither shape → 404. A DM need not hold messages to exist.
    """
    kind, _, rest = conversation_id.partition(":")
    if kind == "dm":
        first, sep, second = rest.partition(":")
        if not sep or not first or not second or dm_id(first, second) != conversation_id:
            raise EngineError(404, "not_found", "Conversation not found")
        if user_id not in (first, second):
            raise EngineError(403, "forbidden", "Not a participant of this conversation")
        return Thread(conversation_id, "dm", (first, second))
    if kind == "group" and rest:
        group = groups.get(app_id, rest)
        if group is None:
            raise EngineError(404, "not_found", "Group not found")
        if not group.is_member(user_id):
            raise EngineError(403, "forbidden", "Not a member of this group")
        return Thread(conversation_id, "group", tuple(group.members))
    raise EngineError(404, "not_found", "Conversation not found")
