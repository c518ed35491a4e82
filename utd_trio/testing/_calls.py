"""Calls domain of the reference engine: the 1:1 call lifecycle [protocol §6, §7, §10].

Who hears what (``others`` = every open socket of that user except the requesting one):

============================  ===========================================================
request                       events
============================  ===========================================================
``call.invite`` (caller)      ``call.incoming`` → every callee socket (and to a callee
                              socket that connects while the call rings)
``call.ringing`` (callee)     ``call.ringing`` → every caller socket
``call.accept`` (callee)      ``call.accepted`` → every caller socket;
                              ``call.answered_elsewhere`` → the callee's others
``call.reject`` (callee)      ``call.rejected`` → every caller socket and the callee's others
``call.cancel`` (caller)      ``call.cancelled`` → every callee socket
``call.end`` (either party)   ``call.ended`` → every socket of the other party and the
                              ender's others (``reason: "hangup"``, integer duration)
ring timeout                  ``call.missed`` → every socket of both parties
============================  ===========================================================

Errors: unknown call 404 ``not_found``; not your call or wrong role 403 ``forbidden``;
wrong state 409 ``conflict`` (``call.end`` before the answer included); a party already in a
ringing or active call 409 ``busy``; self-call and bad fields 422 ``invalid``. A socket that
drops mid-call does not end the call. Durations and the ring timer use loop time; the
``expires_at`` stamp uses the engine's wall clock.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

import anyio

from ._call_book import (
    CALL_ID,
    CallBook,
    CallRecord,
    check_metadata,
    new_call_id,
    send_to_user,
)
from ._clock import format_timestamp
from ._errors import EngineError, JSONObject
from ._registry import Registry
from ._session import Session
from ._state import EngineState

__all__ = ["install"]

_IDENTITY: Final = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
_TYPES: Final = frozenset({"audio", "video"})
_REJECT_REASONS: Final = frozenset({"declined", "busy"})


def _forbidden(message: str) -> EngineError:
    return EngineError(403, "forbidden", message)


def _conflict(record: CallRecord) -> EngineError:
    return EngineError(409, "conflict", f"Call {record.call_id} is {record.status}")


def _call(state: EngineState, session: Session, data: JSONObject) -> CallRecord:
    """The call named by ``data["call_id"]`` (422 if missing, 404 if unknown, 403 if not yours)."""
    call_id = data.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise EngineError(422, "invalid", "call_id is required")
    record = state.domain(CallBook).get(session.app_id, call_id)
    if record.role(session.user_id) is None:
        raise _forbidden("Not your call")
    return record


def _ringing_call(state: EngineState, session: Session, data: JSONObject, role: str) -> CallRecord:
    """A call this user holds ``role`` in and that is still ringing."""
    record = _call(state, session, data)
    if record.role(session.user_id) != role:
        raise _forbidden(f"Only the {role} may do this")
    if record.status != "ringing":
        raise _conflict(record)
    return record


def _incoming(state: EngineState, record: CallRecord) -> JSONObject:
    data: JSONObject = {
        "call_id": record.call_id,
        "from": record.caller,
        "type": record.type,
        "metadata": dict(record.metadata),
        "expires_at": record.expires_at,
    }
    profile = state.profiles.get((record.app_id, record.caller))
    if profile is not None and profile.name:
        data["from_name"] = profile.name
    return data


# ---- invite and ring timer ------------------------------------------------------------------


def _parse_invite(session: Session, data: JSONObject) -> tuple[str, str, JSONObject, str | None]:
    to = data.get("to")
    if not isinstance(to, str) or not _IDENTITY.fullmatch(to):
        raise EngineError(422, "invalid", "to must be a valid user id")
    if to == session.user_id:
        raise EngineError(422, "invalid", "You cannot call yourself")
    kind = data.get("type")
    if kind not in _TYPES:
        raise EngineError(422, "invalid", 'type must be "audio" or "video"')
    call_id = data.get("call_id")
    if call_id is not None and (not isinstance(call_id, str) or not CALL_ID.fullmatch(call_id)):
        raise EngineError(422, "invalid", "call_id must look like call_<24 hex digits>")
    return to, str(kind), check_metadata(data.get("metadata")), call_id


async def _invite(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    book = state.domain(CallBook)
    to, kind, metadata, call_id = _parse_invite(session, data)
    if call_id is not None:
        existing = book.calls.get((session.app_id, call_id))
        if existing is not None:
            if existing.caller != session.user_id:
                raise EngineError(409, "conflict", f"Call id {call_id} is already taken")
            return dict(existing.ack)  # an idempotent retry: the same call, not a new one
    for user in (session.user_id, to):
        if book.is_busy(session.app_id, user):
            raise EngineError(409, "busy", f"{user} is already in a call")
    ring = state.settings.ring_timeout
    call_id = call_id or new_call_id()
    expires_at = format_timestamp(state.clock.now() + timedelta(seconds=ring))
    online = state.sockets.count(session.app_id, to) > 0
    ack: JSONObject = {
        "call_id": call_id,
        "status": "ringing" if online else "initiating",
        "expires_at": expires_at,
    }
    record = CallRecord(
        call_id, session.app_id, session.user_id, to, kind, metadata, expires_at, ack
    )
    book.add(record)
    send_to_user(state, session.app_id, to, "call.incoming", _incoming(state, record))
    state.start_soon(_ring_timer, state, record)
    return dict(ack)


async def _ring_timer(state: EngineState, record: CallRecord) -> None:
    with record.timer:
        await anyio.sleep(state.settings.ring_timeout)
        if record.status == "ringing":
            state.domain(CallBook).finish(record, "missed")
            for user in (record.caller, record.callee):
                send_to_user(state, record.app_id, user, "call.missed", {"call_id": record.call_id})


async def _socket_opened(state: EngineState, session: Session) -> None:
    """A callee socket that connects while a call rings gets ``call.incoming``."""
    book = state.domain(CallBook)
    call_id = book.busy.get((session.app_id, session.user_id))
    record = book.calls.get((session.app_id, call_id)) if call_id is not None else None
    if record is not None and record.status == "ringing" and record.callee == session.user_id:
        session.send("call.incoming", _incoming(state, record))


# ---- the callee's answers ---------------------------------------------------------------------


async def _ringing(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    record = _ringing_call(state, session, data, "callee")
    send_to_user(state, record.app_id, record.caller, "call.ringing", {"call_id": record.call_id})
    return {}


async def _accept(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    book = state.domain(CallBook)
    record = _ringing_call(state, session, data, "callee")
    record.status = "active"
    record.timer.cancel()
    record.answered_at = anyio.current_time()
    record.room_name = f"room_{record.call_id}"
    record.media = book.media(record) if book.media is not None else None
    ack: JSONObject = {"call_id": record.call_id, "room_name": record.room_name}
    if record.media is not None:
        ack["media"] = dict(record.media)
    accepted = {**ack, "by": session.user_id}
    send_to_user(state, record.app_id, record.caller, "call.accepted", accepted)
    elsewhere = {"call_id": record.call_id}
    send_to_user(
        state, record.app_id, record.callee, "call.answered_elsewhere", elsewhere, skip=session
    )
    return ack


async def _reject(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    reason = data.get("reason", "declined")
    if reason is None:
        reason = "declined"
    if reason not in _REJECT_REASONS:
        raise EngineError(422, "invalid", 'reason must be "declined" or "busy"')
    record = _ringing_call(state, session, data, "callee")
    state.domain(CallBook).finish(record, "rejected")
    event = {"call_id": record.call_id, "by": session.user_id, "reason": reason}
    send_to_user(state, record.app_id, record.caller, "call.rejected", event)
    send_to_user(state, record.app_id, record.callee, "call.rejected", event, skip=session)
    return {}


# ---- the caller's cancel, and hang-up by either party ----------------------------------------


async def _cancel(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    record = _ringing_call(state, session, data, "caller")
    state.domain(CallBook).finish(record, "cancelled")
    send_to_user(state, record.app_id, record.callee, "call.cancelled", {"call_id": record.call_id})
    return {}


async def _end(state: EngineState, session: Session, data: JSONObject) -> JSONObject:
    record = _call(state, session, data)
    if record.status != "active" or record.answered_at is None:
        raise _conflict(record)
    duration = max(int(anyio.current_time() - record.answered_at), 0)
    state.domain(CallBook).finish(record, "ended")
    event = {
        "call_id": record.call_id,
        "by": session.user_id,
        "reason": "hangup",
        "duration_seconds": duration,
    }
    send_to_user(state, record.app_id, record.other(session.user_id), "call.ended", event)
    send_to_user(state, record.app_id, session.user_id, "call.ended", event, skip=session)
    return {"duration_seconds": duration}


def install(registry: Registry) -> None:
    """Register the call requests and the ring-on-connect socket hook."""
    registry.ws_handler("call.invite", _invite, gate="signaling")
    registry.ws_handler("call.ringing", _ringing, gate="signaling")
    registry.ws_handler("call.accept", _accept, gate="signaling")
    registry.ws_handler("call.reject", _reject, gate="signaling")
    registry.ws_handler("call.cancel", _cancel, gate="signaling")
    registry.ws_handler("call.end", _end, gate="signaling")
    registry.on_socket_open(_socket_opened)
