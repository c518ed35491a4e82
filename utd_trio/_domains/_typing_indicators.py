"""Typing indicators (protocol §6, §7): the async shell of `TypingTable`.

Every decision — whether a ``true`` or ``false`` goes out (throttle: one ``true`` per
conversation every 3 s), whether a received ``typing`` event is a change worth publishing,
who expired (6 s without a refresh) — is the sans-IO table's (`utd_trio._protocol._typing_table`).
This module only sends the requests, turns ``typing`` events into `TypingChanged` (or
swallows them), and runs the expiry timer: a connect hook sleeping on the loop's clock until the
table's next deadline, started only while someone is typing (an idle session runs no timer
task). A state that expires while the session is reconnecting is reported as soon as the next
connection is up.
"""

from __future__ import annotations

import logging
import math

import anyio

from .._errors import UTDStreamError
from .._events import Event, TypingChanged
from .._protocol import _vocab as v
from .._protocol._typing_table import TypingKey, TypingTable, chat_target, typing_body
from .._protocol._validate import check_bool
from .._session._core import SessionCore
from .._session._supervisor import Spawn, generation_spawner
from .._transport._client import SignalClient

log = logging.getLogger("utd_trio.chat")


class TypingIndicators:
    """Typing indicators of a session, sent throttled and received with expiry."""

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._table = TypingTable()
        self._wake: anyio.Event | None = None  # the running timer's, made by it
        self._spawn: Spawn | None = None  # where the timer may run: the live connection's
        self._timer = False
        core.add_event_hook(self._on_typing_event, TypingChanged)
        core.add_connect_hook(self._expire_typing)

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

    def _on_typing_event(self, event: Event) -> Event | None:
        """Event hook: publish state changes only, and (re)arm the expiry of typers."""
        if not isinstance(event, TypingChanged):
            return event
        now = anyio.current_time()
        change = self._table.seen(event.conversation_id, event.user_id, event.is_typing, now)
        if event.is_typing:
            if self._timer:
                if self._wake is not None:
                    self._wake.set()  # a new deadline: the expiry timer looks again
            else:
                self._start_timer()
        return event if change else None

    def typing_users(self, conversation_id: str) -> frozenset[str]:
        """The users currently typing in a conversation, as this session knows it."""
        return self._table.typing_users(conversation_id)

    async def _expire_typing(self, client: SignalClient, generation: int) -> None:
        """Connect hook: where this connection's expiry timer runs; started if anyone types."""
        # The last connection's timer ended with its task group (perhaps before it ever ran).
        self._spawn, self._timer, self._wake = generation_spawner(), False, None
        self._start_timer()

    def _start_timer(self) -> None:
        if self._timer or self._spawn is None or self._table.next_deadline() == math.inf:
            return
        try:
            self._spawn(self._expiry_timer)
        except RuntimeError:  # that connection has ended; the next one's hook starts it
            self._spawn = None
            return
        self._timer = True

    async def _expiry_timer(self) -> None:
        """Publish ``is_typing=False`` for every typer silent for 6 s; ends when none is left."""
        try:
            while True:
                wake = self._wake = anyio.Event()
                for cid, user in self._table.expire(anyio.current_time()):
                    self._core.publish(TypingChanged(cid, user, is_typing=False))
                deadline = self._table.next_deadline()
                if deadline == math.inf:
                    return
                with anyio.CancelScope(deadline=deadline):
                    await wake.wait()
        finally:
            self._timer = False
            self._wake = None
