"""Typing indicators (protocol §6, §7): the throttled sender and the expiring receiver.

Sending: `TypingIndicators.set_typing` sends at most one ``is_typing: true`` per conversation every
3 s (calls in between are no-ops), and ``is_typing: false`` only when a ``true`` went out and
was not stopped since. Sending a message stops typing in its conversation.

Receiving: ``typing`` frames become `TypingChanged` events, published only when a user's
state changes (a refresh of a user already typing is absorbed). A user who sent no refresh
for 6 s is expired with a synthetic ``TypingChanged(is_typing=False)``. Expiry runs on trio
time inside each connection's hook nursery; a state that expires while the session is
reconnecting is reported as soon as the next connection is up.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import trio

from .._errors import UTDStreamError
from .._events import Event, TypingChanged
from .._protocol import _vocab as v
from .._protocol._validate import check_bool, check_identity, check_non_empty
from .._session._core import SessionCore
from .._transport._client import SignalClient

log = logging.getLogger("utd_trio.chat")

TypingKey = tuple[str, str]
"""``("to", user_id)`` or ``("group_id", group_id)``: a conversation as the sender names it."""


def chat_target(to: str | None, group_id: str | None, user_id: str) -> tuple[TypingKey, str]:
    """Validate exactly one of ``to`` / ``group_id``; return the target and the wire field.

    Raises:
        ValueError: both or neither given, ``to`` not a valid user id or this user, or an
            empty ``group_id``.
    """
    if (to is None) == (group_id is None):
        raise ValueError("pass exactly one of to or group_id")
    if to is not None:
        check_identity(to, "to")
        if to == user_id:
            raise ValueError("to must be another user; you cannot message yourself")
        return ("to", to), "to"
    assert group_id is not None
    return ("group_id", check_non_empty(group_id, "group_id")), "group_id"


class TypingIndicators:
    """Typing indicators of a session, sent throttled and received with expiry."""

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._typing_sent: dict[TypingKey, float] = {}  # target -> trio time of the last true
        self._typing_seen: dict[tuple[str, str], float] = {}  # (cid, user) -> expiry time
        self._typing_wake = trio.Event()
        core.add_event_hook(self._on_typing_event, TypingChanged)
        core.add_connect_hook(self._expire_typing)

    async def set_typing(
        self, *, to: str | None = None, group_id: str | None = None, typing: bool = True
    ) -> None:
        """Send a typing state, throttled (see `Chat.set_typing`)."""
        key, wire = chat_target(to, group_id, self._core.user_id)
        data: dict[str, Any] = {wire: key[1], "is_typing": check_bool(typing, "typing")}
        if not typing:
            if self._typing_sent.pop(key, None) is not None:
                await self._core.request(v.REQ_TYPING, data)
            return
        now = trio.current_time()
        last = self._typing_sent.get(key)
        if last is not None and now - last < v.TYPING_THROTTLE:
            return
        self._typing_sent[key] = now
        sent = False
        try:
            await self._core.request(v.REQ_TYPING, data)
            sent = True
        finally:
            if not sent and self._typing_sent.get(key) == now:
                del self._typing_sent[key]  # not sent: the next call may try again at once

    async def stop_after_send(self, key: TypingKey) -> None:
        """Send ``is_typing: false`` after a message, if typing was on (best effort).

        Only on the live connection and never waiting for a reconnect: if it cannot be
        sent, the receivers expire the state themselves.
        """
        if self._typing_sent.pop(key, None) is None:
            return
        client = self._core.client
        if client is None:
            return
        try:
            await client.request(v.REQ_TYPING, {key[0]: key[1], "is_typing": False})
        except UTDStreamError as exc:
            log.debug("typing stop after a send failed: %s", exc)

    def _on_typing_event(self, event: Event) -> Event | None:
        """Event hook: publish state changes only, and (re)arm the expiry of typers."""
        if not isinstance(event, TypingChanged):
            return event
        key = (event.conversation_id, event.user_id)
        if event.is_typing:
            fresh = key not in self._typing_seen
            self._typing_seen[key] = trio.current_time() + v.TYPING_EXPIRY
            self._typing_wake.set()
            return event if fresh else None
        return event if self._typing_seen.pop(key, None) is not None else None

    def typing_users(self, conversation_id: str) -> frozenset[str]:
        """The users currently typing in a conversation, as this session knows it."""
        return frozenset(user for cid, user in self._typing_seen if cid == conversation_id)

    async def _expire_typing(self, client: SignalClient, generation: int) -> None:
        """Connect hook: publish ``is_typing=False`` for every typer silent for 6 s."""
        while True:
            wake = self._typing_wake = trio.Event()
            now = trio.current_time()
            for key, deadline in list(self._typing_seen.items()):
                if deadline <= now:
                    del self._typing_seen[key]
                    self._core.publish(TypingChanged(key[0], key[1], is_typing=False))
            soonest = min(self._typing_seen.values(), default=math.inf)
            with trio.move_on_at(soonest):
                await wake.wait()
