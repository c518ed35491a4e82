"""Typing indicators without I/O (protocol §6, §7): the sender's throttle, the receiver's expiry.

`TypingTable` is the session's memory of typing, with no I/O, no clock and no tasks: every
call that depends on time takes ``now`` (any monotonic seconds, e.g. ``trio.current_time()``),
and every answer is a decision for the async shell (`utd_trio._domains._typing_indicators`) to
act on.

Sending: at most one ``is_typing: true`` per conversation every `TYPING_THROTTLE` seconds
(a start in between is a no-op), and ``is_typing: false`` only when a ``true`` went out and was
not stopped since. A ``true`` that could not be sent is forgotten, so the next start goes out
at once. Sending a message stops typing in its conversation.

Receiving: a ``typing`` event is published only when it changes a user's state (a refresh of a
user already typing is absorbed, a stop of a user not typing too). A user with no refresh for
`TYPING_EXPIRY` seconds is expired: `expire` names them, to be published as stopped.
"""

from __future__ import annotations

import math
from typing import Any

from . import _vocab as v
from ._validate import check_identity, check_non_empty

__all__ = ["TypingKey", "TypingTable", "chat_target", "typing_body"]

TypingKey = tuple[str, str]
"""``("to", user_id)`` or ``("group_id", group_id)``: a conversation as the sender names it.

The first item is also the wire field that names the conversation in a request body.
"""


def chat_target(to: str | None, group_id: str | None, user_id: str) -> tuple[TypingKey, str]:
    """Validate exactly one of ``to`` / ``group_id``; return the target and the wire field.

    ``user_id`` is this session's user, who cannot be ``to``.

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
        return (v.FIELD_TO, to), v.FIELD_TO
    assert group_id is not None
    return (v.FIELD_GROUP_ID, check_non_empty(group_id, "group_id")), v.FIELD_GROUP_ID


def typing_body(key: TypingKey, is_typing: bool) -> dict[str, Any]:
    """The data of a ``typing`` request for the conversation ``key``."""
    return {key[0]: key[1], v.FIELD_IS_TYPING: is_typing}


class TypingTable:
    """Typing state of one session: what it sent (throttle) and who it sees typing (expiry).

    Args:
        throttle: seconds between two ``is_typing: true`` of one conversation.
        expiry: seconds after which a typer with no refresh counts as stopped.
    """

    def __init__(
        self, *, throttle: float = v.TYPING_THROTTLE, expiry: float = v.TYPING_EXPIRY
    ) -> None:
        self._throttle = throttle
        self._expiry = expiry
        self._sent: dict[TypingKey, float] = {}  # target -> time of the last true sent
        self._seen: dict[tuple[str, str], float] = {}  # (cid, user) -> expiry deadline

    # --- sender ---------------------------------------------------------------------------

    def start(self, key: TypingKey, now: float) -> bool:
        """This user types in ``key``: whether to send ``is_typing: true`` now.

        True at most once per throttle period; the send counts from ``now``. If the send
        fails, call `sent_failed` so that the next start may try again at once.
        """
        last = self._sent.get(key)
        if last is not None and now - last < self._throttle:
            return False
        self._sent[key] = now
        return True

    def sent_failed(self, key: TypingKey, now: float) -> None:
        """The ``true`` that `start` allowed at ``now`` did not go out: forget it.

        A no-op if the state moved on since (a stop, or a later start).
        """
        if self._sent.get(key) == now:
            del self._sent[key]

    def stop(self, key: TypingKey) -> bool:
        """This user stopped typing in ``key``: whether to send ``is_typing: false``.

        True only if a ``true`` was sent and not stopped since; the state is cleared either
        way, so a failed stop is not retried (receivers expire the state themselves).
        """
        return self._sent.pop(key, None) is not None

    def after_send(self, key: TypingKey) -> bool:
        """This user sent a message in ``key``: whether to send ``is_typing: false``.

        The same decision as `stop`: a message ends typing in its conversation.
        """
        return self.stop(key)

    def is_sending(self, key: TypingKey) -> bool:
        """Whether a ``true`` was sent in ``key`` and not stopped since."""
        return key in self._sent

    # --- receiver -------------------------------------------------------------------------

    def seen(self, conversation_id: str, user_id: str, is_typing: bool, now: float) -> bool:
        """A ``typing`` event arrived at ``now``: whether to publish it (a change of state).

        A ``true`` (re)arms the user's expiry at ``now`` plus the expiry period; a refresh
        of a user already typing is absorbed. A ``false`` of a user not typing is absorbed.
        """
        key = (conversation_id, user_id)
        if is_typing:
            fresh = key not in self._seen
            self._seen[key] = now + self._expiry
            return fresh
        return self._seen.pop(key, None) is not None

    def expire(self, now: float) -> list[tuple[str, str]]:
        """Forget every typer whose deadline is at or before ``now``.

        Returns:
            Their ``(conversation_id, user_id)``, each to be published as stopped.
        """
        gone = [key for key, deadline in self._seen.items() if deadline <= now]
        for key in gone:
            del self._seen[key]
        return gone

    def next_deadline(self) -> float:
        """When `expire` has work next (``math.inf`` if nobody is typing)."""
        seen = self._seen
        return min(seen.values()) if seen else math.inf  # asked after every inbound event

    def typing_users(self, conversation_id: str) -> frozenset[str]:
        """The users typing in a conversation, as far as the events seen so far tell."""
        return frozenset(user for cid, user in self._seen if cid == conversation_id)
