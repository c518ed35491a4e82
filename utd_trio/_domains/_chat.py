"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Chat messages, receipts, typing, history and no-loss recovery across reconnects (chat capability).

`send_message` makes each message's ``client_id`` itself (a UUID). The engine is idempotent on
it, so a send whose socket drops before the ack is sent again on the next connection with the
same id and returns the one stored message — never a duplicate. Typing lives in
`_typing_indicators.py`, the recovery of messages missed during a reconnect gap in
`_chat_recovery.py`.
"""

from __future__ import annotations

import os

from .._models import Attachment, ChatMessage, Conversation, HistoryPage, JSONObject
from .._protocol import _requests as build
from .._protocol import _vocab as v
from .._protocol._typing_table import chat_target
from .._session._core import SessionCore
from ._chat_recovery import ChatRecovery
from ._typing_indicators import TypingIndicators


def new_client_id() -> str:
    """A fresh random UUID (version 4) as text: what ``str(uuid.uuid4())`` returns, faster.

    The same 122 random bits from ``os.urandom`` and the same version and variant bits;
    without building a `uuid.UUID` (about 6 µs of a ~1 ms round trip, measured).
    """
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40  # version 4
    b[8] = b[8] & 0x3F | 0x80  # variant: RFC 4122
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Chat:
    """``sig.chat``.

    Chat messages, receipts, typing, history and no-loss recovery (chat capability).

    Incoming messages arrive as `MessageReceived` (this user's own too, when sent from
    another device), receipts as `ReceiptReceived`, typing as `TypingChanged`. After every
    reconnect the messages missed during the gap are delivered first, flagged ``recovered``,
    followed by `RecoveryFinished`. Errors come out as `UTDStreamError`: FEATURE_DISABLED
    (``is_chat_disabled``) when the plan has no chat, INVALID for input the engine refuses,
    NOT_FOUND for an unknown group, FORBIDDEN for a group or conversation you are not part
    of, TIMEOUT, CLOSED. Bad arguments raise ValueError naming the field, before any I/O.
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._typing = TypingIndicators(core)
        self._recovery = ChatRecovery(core)

    async def send_message(
        self,
        *,
        to: str | None = None,
        group_id: str | None = None,
        text: str | None = None,
        attachment: Attachment | None = None,
        metadata: JSONObject | None = None,
    ) -> ChatMessage:
        """Send a message to user ``to`` or to group ``group_id`` and return it as stored.

        A message holds ``text`` (at most 4000 characters), an ``attachment`` (from
        `upload` / `presign_upload`), or both, and optional ``metadata`` (a JSON object of at
        most 16 KiB). The other participants and this user's other devices get
        `MessageReceived`. If the connection drops before the engine's answer, the request
        is sent again on the next connection (within the request timeout) and returns the
        same message: exactly one message is stored, or an error is raised. Sending stops
        this user's typing state in the conversation.

        A TIMEOUT means no answer came in time, not that nothing was stored: if the engine
        got the request before the connection died, the message exists (`history` shows
        it) and usually reaches this session after a reconnect as a recovered
        `MessageReceived` of its own.

        Raises:
            ValueError: both or neither of ``to`` / ``group_id``; ``to`` invalid or this
                user; neither ``text`` nor ``attachment``; ``text`` empty or too long;
                ``attachment`` not an `Attachment`; bad ``metadata``; text holding a lone
                surrogate (not valid Unicode).
            UTDStreamError: FEATURE_DISABLED, NOT_FOUND (unknown group), FORBIDDEN (not a
                member), INVALID, TIMEOUT, CLOSED, PROTOCOL (an unusable answer).
        """
        key, wire = chat_target(to, group_id, self._core.user_id)
        data = build.message_send(new_client_id(), wire, key[1], text, attachment, metadata)
        message = await self._recovery.send_own(data)
        await self._typing.stop_after_send(key)
        return message

    async def mark_delivered(self, conversation_id: str, up_to_seq: int) -> None:
        """Tell the other participants that messages up to ``up_to_seq`` reached this user.

        They (and this user's other devices) get a `ReceiptReceived` only when the mark
        advances; a seq past the last message is clamped to it.

        Raises:
            ValueError: an empty ``conversation_id`` or a negative ``up_to_seq``.
            UTDStreamError: FEATURE_DISABLED, FORBIDDEN (not a participant), NOT_FOUND.
        """
        await self._mark(v.REQ_MESSAGE_DELIVERED, conversation_id, up_to_seq)

    async def mark_read(self, conversation_id: str, up_to_seq: int) -> None:
        """Tell the other participants this user read messages up to ``up_to_seq``.

        Read implies delivered. Receipts go out only when the mark advances (clamped).

        Raises:
            ValueError: an empty ``conversation_id`` or a negative ``up_to_seq``.
            UTDStreamError: FEATURE_DISABLED, FORBIDDEN (not a participant), NOT_FOUND.
        """
        await self._mark(v.REQ_MESSAGE_READ, conversation_id, up_to_seq)

    async def _mark(self, event: str, conversation_id: str, up_to_seq: int) -> None:
        data = build.receipt_mark(conversation_id, up_to_seq)
        # A mark only moves forward, so sending it twice is harmless.
        await self._core.request(event, data, idempotent=True)

    async def history(
        self,
        conversation_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> HistoryPage:
        """One page of a conversation's history, ascending by ``seq``.

        With ``after``: the oldest messages after that seq (page forward with the last
        seq); without: the newest, before ``before`` if given (page back with the first
        seq). ``has_more`` says whether more exist in that direction. Messages older than
        the plan's ``history_days`` are not returned.

        Raises:
            ValueError: empty ``conversation_id``, negative ``after``/``before``, ``limit``
                outside 1..200.
            UTDStreamError: FEATURE_DISABLED, FORBIDDEN (not a participant), NOT_FOUND, and
                the transport errors of every REST call.
        """
        return await self._core.api.history(
            conversation_id, after=after, before=before, limit=limit
        )

    async def conversations(self) -> tuple[Conversation, ...]:
        """This user's conversations (DMs with messages and groups), most recent first.

        Raises:
            UTDStreamError: FEATURE_DISABLED, and the transport errors of every REST call.
        """
        return await self._core.api.conversations()

    # --- typing and delivery (see `TypingIndicators`, `ChatRecovery`) ---------------------

    async def set_typing(
        self, *, to: str | None = None, group_id: str | None = None, typing: bool = True
    ) -> None:
        """Tell the other participants of a DM (``to``) or group that this user is typing.

        Call it freely on every keystroke: at most one ``true`` per conversation goes out
        every 3 s (receivers expire typing after 6 s without a refresh). ``typing=False``
        sends a stop, if a start was sent. Sending a message stops typing by itself.

        Raises:
            ValueError: both or neither of ``to`` / ``group_id``; a bad or own user id; a
                ``typing`` that is not a bool (also a TypeError).
            UTDStreamError: e.g. FEATURE_DISABLED (chat off), NOT_FOUND (unknown group),
                FORBIDDEN (not a member), TIMEOUT, CLOSED.
        """
        await self._typing.set_typing(to=to, group_id=group_id, typing=typing)

    def typing_users(self, conversation_id: str) -> frozenset[str]:
        """The users currently typing in a conversation, as this session knows it."""
        return self._typing.typing_users(conversation_id)

    def last_delivered_seq(self, conversation_id: str) -> int | None:
        """The highest ``seq`` delivered as `MessageReceived` in a conversation, if any."""
        return self._recovery.last_delivered_seq(conversation_id)
