"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

1:1 call invitations: invite, accept, reject, cancel, end (signaling capability).

The session makes each invitation's ``call_id`` itself (``call_<24 hex>``, the engine's own
format), so an invite whose socket drops before the reply is sent again on the next
connection with the same id — the engine answers a retry with the same call, never a second
one. Every other call request is sent once. Media credentials in an answer are passed through
untouched; media itself is out of scope.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from .._models import Call, CallAnswer
from .._protocol import _requests as build
from .._protocol import _vocab as v
from .._protocol._parse import get_field, parse_int, parse_object, parse_str, parse_time
from .._session._core import SessionCore

REJECT_REASONS: Final = frozenset(v.REJECT_REASONS)
"""The reasons `reject_call` may give."""


def new_call_id() -> str:
    """A fresh call id in the engine's format: ``call_`` and 24 lowercase hex digits."""
    return "call_" + secrets.token_hex(12)


class Calls:
    """``sig.calls``.

    1:1 call invitations: invite, accept, reject, cancel, end (signaling capability).

    Errors come out as `UTDStreamError`: CONFLICT for a busy party or a call in the wrong
    state, FORBIDDEN for a role violation (e.g. the caller accepting), NOT_FOUND for an
    unknown call, FEATURE_DISABLED when the plan has no signaling, TIMEOUT, CLOSED.
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core

    async def invite(
        self, to: str, *, video: bool = False, metadata: dict[str, Any] | None = None
    ) -> Call:
        """Call user ``to`` (audio, or video with ``video=True``) and return the ringing call.

        ``metadata`` (a JSON object of at most 16 KiB) reaches the callee in `CallIncoming`.
        The answer arrives as an event: `CallRinging`, `CallAccepted`, `CallRejected` or
        `CallMissed`. Calling an offline user is allowed (status ``initiating``).

        Raises:
            ValueError: ``to`` is not a valid user id or is this user; bad ``metadata``; a
                ``video`` that is not a bool (also a TypeError).
            UTDStreamError: CONFLICT when either party is already in a call, and the rest.
        """
        call_id = new_call_id()
        data = build.call_invite(
            to, me=self._core.user_id, video=video, metadata=metadata, call_id=call_id
        )
        reply = await self._core.request(v.REQ_CALL_INVITE, data, idempotent=True)
        return Call(
            call_id=parse_str(get_field(reply, "call_id")) or call_id,
            to=to,
            video=video,
            status=parse_str(reply.get("status")) or "ringing",
            expires_at=parse_time(get_field(reply, "expires_at")),
        )

    async def ringing(self, call_id: str) -> None:
        """Tell the caller this device is ringing for ``call_id`` (callee only).

        Raises:
            ValueError: an empty ``call_id``.
            UTDStreamError: FORBIDDEN (not the callee), CONFLICT (no longer ringing), ...
        """
        await self._core.request(v.REQ_CALL_RINGING, build.call_ringing(call_id))

    async def accept_call(self, call_id: str) -> CallAnswer:
        """Accept an incoming call (callee only); the caller gets `CallAccepted`.

        The callee's other devices get `CallAnsweredElsewhere`. The answer's ``media``
        credentials, if the engine sends any, are passed through untouched.

        Raises:
            ValueError: an empty ``call_id``.
            UTDStreamError: FORBIDDEN (not the callee), CONFLICT (not ringing any more, e.g.
                accepted twice), NOT_FOUND (unknown call), ...
        """
        data = build.call_accept(call_id)
        reply = await self._core.request(v.REQ_CALL_ACCEPT, data)
        return CallAnswer(
            call_id=parse_str(get_field(reply, "call_id")) or call_id,
            room_name=parse_str(get_field(reply, "room_name")),
            media=parse_object(reply.get("media")),
        )

    async def reject_call(self, call_id: str, reason: str | None = None) -> None:
        """Reject an incoming call (callee only); ``reason`` is ``"declined"`` or ``"busy"``.

        The caller and this user's other devices get `CallRejected` (the engine reports
        ``declined`` when no reason is given).

        Raises:
            ValueError: an empty ``call_id`` or another ``reason``.
            UTDStreamError: FORBIDDEN (not the callee), CONFLICT (not ringing), ...
        """
        await self._core.request(v.REQ_CALL_REJECT, build.call_reject(call_id, reason))

    async def cancel_call(self, call_id: str) -> None:
        """Withdraw an unanswered invitation (caller only); the callee gets `CallCancelled`.

        Raises:
            ValueError: an empty ``call_id``.
            UTDStreamError: FORBIDDEN (not the caller), CONFLICT (already answered or over).
        """
        await self._core.request(v.REQ_CALL_CANCEL, build.call_cancel(call_id))

    async def end_call(self, call_id: str) -> int | None:
        """Hang up an answered call (either party) and return its duration in seconds.

        The other party (and this user's other devices) get `CallEnded`. Before the answer
        the caller cancels instead: ending then is a CONFLICT.

        Returns:
            The whole seconds the call lasted, or None if the engine did not say (or sent
            something that is not an integer).

        Raises:
            ValueError: an empty ``call_id``.
            UTDStreamError: CONFLICT (not answered, or already over), FORBIDDEN, NOT_FOUND.
        """
        reply = await self._core.request(v.REQ_CALL_END, build.call_end(call_id))
        return parse_int(get_field(reply, "duration_seconds"))
