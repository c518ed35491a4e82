"""Chat REST routes of the reference engine: the conversation list and history [protocol §4].

``GET /api/v1/chat/conversations`` → ``{"data": [{"conversation_id", "kind", "last_message",
"unread"}]}``: the caller's DMs that hold a message and every group they belong to, most
recently active first (groups without messages last). ``last_message`` is the newest message
still inside retention (null if none); ``unread`` counts retained messages from others past
the caller's read mark.

``GET /api/v1/chat/conversations/{cid}/messages?after=&before=&limit=`` → ``{"data":
[message...], "has_more"}`` ascending by seq, with the paging rules of protocol §4; ``limit``
defaults to 50 and must be 1..200; ``after``/``before`` must be non-negative integers (422
otherwise). A DM the caller is part of with no messages is an empty page; not a participant →
403; an unknown group → 404. Messages older than ``history_days`` are never returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from ._chat_store import ChatStore, ConversationRecord, page_of, resolve, retention_cutoff
from ._errors import EngineError, JSONObject
from ._groups_state import GroupStore
from ._registry import Registry
from ._rest import RestContext

__all__ = ["DEFAULT_HISTORY_LIMIT", "MAX_HISTORY_LIMIT", "install"]

DEFAULT_HISTORY_LIMIT: Final = 50
MAX_HISTORY_LIMIT: Final = 200

_CONVERSATIONS = "/api/v1/chat/conversations"
_MESSAGES = _CONVERSATIONS + "/{cid}/messages"


def _query_int(ctx: RestContext, name: str) -> int | None:
    raw = ctx.request.query_params.get(name)
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not text.isdigit():
        raise EngineError(422, "invalid", f"{name} must be a non-negative integer")
    return int(text)


def _cutoff(ctx: RestContext) -> datetime | None:
    """The oldest creation moment the caller's plan still shows (None: no retention)."""
    limits = ctx.user.project.limits
    days = None if limits is None else limits.get("history_days")
    return retention_cutoff(ctx.state.clock.now(), days)


def _summary(
    ctx: RestContext, record: ConversationRecord | None, cid: str, kind: str
) -> JSONObject:
    user = ctx.user.user_id
    retained = [] if record is None else record.retained(_cutoff(ctx))
    read_mark = 0 if record is None else record.read.get(user, 0)
    unread = sum(1 for m in retained if m.sender != user and m.seq > read_mark)
    return {
        "conversation_id": cid,
        "kind": kind,
        "last_message": dict(retained[-1].wire) if retained else None,
        "unread": unread,
    }


async def _conversations(ctx: RestContext) -> JSONObject:
    user = ctx.user
    store = ctx.state.domain(ChatStore)
    items: list[tuple[int, JSONObject]] = []
    for record in store.dms_of(user.app_id, user.user_id):
        items.append((record.activity, _summary(ctx, record, record.conversation_id, "dm")))
    for group in ctx.state.domain(GroupStore).of_user(user.app_id, user.user_id):
        found = store.get(user.app_id, group.conversation_id)
        activity = 0 if found is None else found.activity
        items.append((activity, _summary(ctx, found, group.conversation_id, "group")))
    items.sort(key=lambda item: item[0], reverse=True)
    return {"data": [summary for _, summary in items]}


async def _messages(ctx: RestContext) -> JSONObject:
    user = ctx.user
    limit = _query_int(ctx, "limit")
    limit = DEFAULT_HISTORY_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise EngineError(422, "invalid", f"limit must be in 1..{MAX_HISTORY_LIMIT}")
    after, before = _query_int(ctx, "after"), _query_int(ctx, "before")
    cid: str = ctx.request.path_params["cid"]
    resolve(ctx.state.domain(GroupStore), user.app_id, user.user_id, cid)
    record = ctx.state.domain(ChatStore).get(user.app_id, cid)
    if record is None:
        return {"data": [], "has_more": False}
    retained = record.retained(_cutoff(ctx))
    return page_of(retained, after=after, before=before, limit=limit).wire()


def install(registry: Registry) -> None:
    """Register the conversation list and history routes (bearer, gated by chat)."""
    registry.route(_CONVERSATIONS, _conversations, methods=["GET"], gate="chat")
    registry.route(_MESSAGES, _messages, methods=["GET"], gate="chat")
