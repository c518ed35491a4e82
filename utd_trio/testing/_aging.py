"""Move stored chat messages into the past (``EngineControl.age_messages``, contract §12).

Only the public surface of the chat and group stores is used: a project's conversations are
found through the users who ever minted (nobody else can have sent or received a message).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import timedelta

from ._chat_store import ChatStore, ConversationRecord, MessageRecord
from ._clock import format_timestamp
from ._groups_state import GroupStore
from ._state import EngineState

__all__ = ["age_messages"]


def _conversations(
    state: EngineState, app_id: str, conversation_id: str | None
) -> Iterable[ConversationRecord]:
    store = state.domain(ChatStore)
    if conversation_id is not None:
        found = store.get(app_id, conversation_id)
        return [] if found is None else [found]
    groups = state.domain(GroupStore)
    found_by_id: dict[str, ConversationRecord] = {}
    for app, user in list(state.mint_counts):
        if app != app_id:
            continue
        for conversation in store.dms_of(app, user):
            found_by_id[conversation.conversation_id] = conversation
        for group in groups.of_user(app, user):
            record = store.get(app, group.conversation_id)
            if record is not None:
                found_by_id[record.conversation_id] = record
    return found_by_id.values()


def age_messages(
    state: EngineState, app_ids: Iterable[str], conversation_id: str | None, days: float
) -> int:
    """Move every matching stored message ``days`` into the past; return how many moved.

    The record's ``created`` moment (what ``history_days`` retention compares) and the wire
    ``created_at`` move together; the wire object is updated in place so an idempotent
    ``message.send`` retry answers the aged timestamp too.
    """
    delta = timedelta(days=days)
    moved = 0
    for app_id in app_ids:
        for conversation in _conversations(state, app_id, conversation_id):
            aged: list[MessageRecord] = []
            for message in conversation.messages:
                created = message.created - delta
                message.wire["created_at"] = format_timestamp(created)
                aged.append(dataclasses.replace(message, created=created))
            conversation.messages[:] = aged
            moved += len(aged)
    return moved
