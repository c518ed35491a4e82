"""State of the calls domain of the reference engine: call records, busy users, media hook.

A call moves ``ringing → active → ended``, or from ``ringing`` to ``rejected``, ``cancelled``
or ``missed``. While it is ``ringing`` or ``active`` both parties are *busy*. Records are kept
after they finish, so a late request gets 409 (wrong state) rather than 404 (unknown call).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import anyio

from ._errors import EngineError, JSONObject
from ._session import Session
from ._state import EngineState, UserKey

__all__ = [
    "CALL_ID",
    "MAX_METADATA_BYTES",
    "CallBook",
    "CallRecord",
    "MediaFactory",
    "check_metadata",
    "new_call_id",
    "send_to_user",
    "set_call_media",
]

CALL_ID: Final = re.compile(r"call_[0-9a-f]{24}")
"""The shape of a call id [doc]: ``call_`` and 24 lowercase hex digits."""

MAX_METADATA_BYTES: Final = 16 * 1024
"""Largest ``metadata`` object, serialised compactly [protocol §10]."""

MediaFactory = Callable[["CallRecord"], JSONObject | None]
"""``media(call) -> {"url", "token"} | None``: media credentials for an accepted call."""


def new_call_id() -> str:
    """A fresh engine-made call id."""
    return "call_" + secrets.token_hex(12)


@dataclass
class CallRecord:
    """One call, from invite to its final state."""

    call_id: str
    app_id: str
    caller: str
    callee: str
    type: str
    metadata: JSONObject
    expires_at: str
    """Wall-clock end of the ring window (wire timestamp)."""
    ack: JSONObject
    """The ``call.invite`` ack, returned again to an idempotent retry."""
    status: str = "ringing"
    room_name: str | None = None
    media: JSONObject | None = None
    answered_at: float | None = None
    """Loop time of the accept (durations use loop time, so autojump tests work)."""
    timer: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    """Cancel scope of the ring timer."""

    def role(self, user_id: str) -> str | None:
        """``"caller"``, ``"callee"`` or None for someone else."""
        if user_id == self.caller:
            return "caller"
        if user_id == self.callee:
            return "callee"
        return None

    def other(self, user_id: str) -> str:
        """The other party."""
        return self.callee if user_id == self.caller else self.caller


@dataclass
class CallBook:
    """Per-engine calls state."""

    calls: dict[tuple[str, str], CallRecord] = field(
        default_factory=dict[tuple[str, str], CallRecord]
    )
    """``(app_id, call_id)`` → record."""
    busy: dict[UserKey, str] = field(default_factory=dict[UserKey, str])
    """``(app_id, user_id)`` → id of the ringing or active call the user is in."""
    media: MediaFactory | None = None
    """Optional media credentials attached to the accept ack and ``call.accepted``."""

    def get(self, app_id: str, call_id: str) -> CallRecord:
        """The record, else 404 ``not_found``."""
        record = self.calls.get((app_id, call_id))
        if record is None:
            raise EngineError(404, "not_found", f"Unknown call {call_id!r}")
        return record

    def add(self, record: CallRecord) -> None:
        """Store a new ringing call and mark both parties busy."""
        self.calls[(record.app_id, record.call_id)] = record
        self.busy[(record.app_id, record.caller)] = record.call_id
        self.busy[(record.app_id, record.callee)] = record.call_id

    def finish(self, record: CallRecord, status: str) -> None:
        """Move a call to a final state: stop its ring timer and free both parties."""
        record.status = status
        record.timer.cancel()
        for user in (record.caller, record.callee):
            if self.busy.get((record.app_id, user)) == record.call_id:
                del self.busy[(record.app_id, user)]

    def is_busy(self, app_id: str, user_id: str) -> bool:
        """Whether the user is in a ringing or active call."""
        return (app_id, user_id) in self.busy


def set_call_media(state: EngineState, media: MediaFactory | None) -> None:
    """Make the engine attach ``media(call)`` to accepted calls (None: no media)."""
    state.domain(CallBook).media = media


def send_to_user(
    state: EngineState,
    app_id: str,
    user_id: str,
    event: str,
    data: JSONObject,
    *,
    skip: Session | None = None,
) -> None:
    """Send ``event`` to every open socket of a user, except ``skip``."""
    for session in state.sockets.of_user(app_id, user_id):
        if session is not skip:
            session.send(event, dict(data))


def check_metadata(value: object) -> JSONObject:
    """An optional ``metadata`` object of at most 16 KiB serialised, else 422."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EngineError(422, "invalid", "metadata must be a JSON object")
    metadata: dict[str, Any] = dict(value)  # pyright: ignore[reportUnknownArgumentType]
    size = len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise EngineError(422, "invalid", f"metadata is {size} bytes; the limit is 16 KiB")
    return metadata
