"""Typing indicators (protocol §6, §7): the sending half, on the session's `TypingTable`.

Every decision — whether a ``true`` or ``false`` goes out (throttle: one ``true`` per
conversation every 3 s), whether a received ``typing`` event is a change worth publishing,
who expired (6 s without a refresh) — is the sans-IO table's (`utd_trio._protocol._typing_table`),
held by the session's `SessionProtocol`. Received ``typing`` events go through it in the
receive loop, and the session's `Ticker` publishes the expiries; this module only sends.
"""

from __future__ import annotations

import logging

import anyio

from .._errors import UTDStreamError
from .._protocol import _vocab as v
from .._protocol._typing_table import TypingKey, chat_target, typing_body
from .._protocol._validate import check_bool
from .._session._core import SessionCore

log = logging.getLogger("utd_trio.chat")


class TypingIndicators:
    """Typing indicators of a session: sent throttled (received ones expire by themselves)."""

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._table = core.protocol.typing

    async def set_typing(
        self, *, to: str | None = None, group_id: str | None = None, typing: bool = True
    ) -> None:
        """Send a typing state, throttled (see `Chat.set_typing`)."""
        key, _ = chat_target(to, group_id, self._core.user_id)
        data = typing_body(key, check_bool(typing, "typing"))
        if not typing:
            if self._table.stop(key):
                await self._core.request(v.REQ_TYPING, data)
            return
        now = anyio.current_time()
        if not self._table.start(key, now):
            return
        sent = False
        try:
            await self._core.request(v.REQ_TYPING, data)
            sent = True
        finally:
            if not sent:
                self._table.sent_failed(key, now)  # the next call may try again at once

    async def stop_after_send(self, key: TypingKey) -> None:
        """Send ``is_typing: false`` after a message, if typing was on (best effort).

        Only on the live connection and never waiting for a reconnect: if it cannot be
        sent, the receivers expire the state themselves.
        """
        if not self._table.after_send(key):
            return
        client = self._core.client
        if client is None:
            return
        try:
            await client.request(v.REQ_TYPING, typing_body(key, False))
        except UTDStreamError as exc:
            log.debug("typing stop after a send failed: %s", exc)

    def typing_users(self, conversation_id: str) -> frozenset[str]:
        """The users currently typing in a conversation, as this session knows it."""
        return self._table.typing_users(conversation_id)
