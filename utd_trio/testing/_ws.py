"""``GET /ws``: authenticate the upgrade, say hello, then decode and dispatch frames [§5].

Frame rules: text frames only; a frame over 1 MiB of UTF-8 is dropped without reply; binary,
non-JSON, non-object or ``event``-less frames, and requests other than ``ping`` without a
``ref``, get ``error`` 422 ``invalid_frame`` without ``ref`` (and no ack); the socket stays.
``ping`` → ``pong`` (same ``ref``, or none). Every other request
gets exactly one ``ack`` or ``error`` carrying its ``ref``: unknown event → 404
``unknown_event``; ``data`` missing or ``null`` → ``{}``; ``data`` of another non-object type →
422 ``invalid`` (the client is strict in what it sends, so the engine is strict here too). A
frame holding a lone surrogate anywhere gets 422 ``invalid`` and is not dispatched (see
``_unicode.py``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Final, cast

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from ._errors import EngineError, JSONObject
from ._registry import normalize_event
from ._rest import UNAUTHORIZED_MESSAGE, bearer_token, json_response
from ._session import MAX_FRAME_BYTES, Inbound, Session
from ._state import EngineState
from ._unicode import check_unicode, lone_surrogate_path

__all__ = ["WS_PATH", "process_frame", "ws_endpoint"]

log = logging.getLogger("utd_trio.testing")

WS_PATH: Final = "/ws"
HOOK_TIMEOUT: Final = 10.0

AbortPeer = Callable[[tuple[str, int] | None], bool]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _close_reason(reason: str) -> str:
    # A close reason must fit a control frame: at most 123 bytes of UTF-8.
    return reason.encode("utf-8")[:123].decode("utf-8", "ignore")


def _invalid(state: EngineState, session: Session, message: str) -> None:
    state.stats.invalid_frames += 1
    session.invalid_frames += 1
    session.send("error", {"status": 422, "code": "invalid_frame", "message": message})


def _oversize(text: str) -> bool:
    return len(text) > MAX_FRAME_BYTES or (
        len(text) * 4 > MAX_FRAME_BYTES
        and len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES
    )


async def process_frame(state: EngineState, session: Session, message: Inbound) -> None:
    """Decode one inbound frame and answer it."""
    state.stats.frames_received += 1
    session.frames_received += 1
    if isinstance(message, bytes):
        _invalid(state, session, "Binary frames are not supported; send JSON text frames")
        return
    if _oversize(message):
        state.stats.oversize_frames += 1
        session.invalid_frames += 1
        log.debug("socket %s: dropped a frame over %d bytes", session.socket_id, MAX_FRAME_BYTES)
        return
    try:
        frame: Any = json.loads(message)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        _invalid(state, session, "Frame is not valid JSON")
        return
    if not isinstance(frame, dict):
        _invalid(state, session, "Frame must be a JSON object")
        return
    fields = cast(JSONObject, frame)
    event = fields.get("event")
    ref = fields.get("ref")
    if not isinstance(event, str) or not event:
        _invalid(state, session, "Frame has no event name")
        return
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
        _invalid(state, session, "ref must be a string")
        return
    if isinstance(ref, str) and lone_surrogate_path(ref) is not None:
        _invalid(state, session, "ref is not valid Unicode (a lone UTF-16 surrogate)")
        return
    try:
        check_unicode(fields, "frame")  # never store (or echo) what cannot be sent back
    except EngineError as error:
        session.send("error", error.frame_data(), ref=ref)
        return
    name = normalize_event(event)
    if name == "ping":
        session.send("pong", ref=ref)
        return
    if ref is None or ref == "":
        # §5: every request carries a ref; without one no reply can be matched to it.
        _invalid(state, session, f"Request {event!r} has no ref; every request needs one")
        return
    try:
        data = await _dispatch(state, session, name, event, fields.get("data"))
        session.send("ack", data, ref=ref)
    except EngineError as error:
        session.send("error", error.frame_data(), ref=ref)
    except ValueError:  # an ack over 1 MiB: a handler bug, never put on the wire
        log.exception("ack for %r refused", name)
        session.send(
            "error", {"status": 500, "code": "internal", "message": "Ack too large"}, ref=ref
        )


async def _dispatch(
    state: EngineState, session: Session, name: str, event: str, raw_data: object
) -> JSONObject:
    binding = state.registry.lookup(name)
    if binding is None:
        raise EngineError(404, "unknown_event", f"Unknown event {event!r}")
    if raw_data is None:
        raw_data = {}
    if not isinstance(raw_data, dict):
        raise EngineError(422, "invalid", "data must be a JSON object")
    data = cast(JSONObject, raw_data)
    state.check_gate(session.app_id, binding.gate)
    try:
        result: object = await binding.handler(state, session, data)
    except EngineError:
        raise
    except Exception:
        log.exception("handler for %r failed", name)
        raise EngineError(500, "internal", "Internal engine error") from None
    if not isinstance(result, dict):  # pyright: ignore[reportUnnecessaryIsInstance]
        log.error("handler for %r returned %r, not a dict", name, type(result))
        raise EngineError(500, "internal", "Internal engine error")
    ack: JSONObject = result
    return ack


async def _run_hooks(state: EngineState, session: Session, *, opening: bool) -> None:
    hooks = state.registry.open_hooks if opening else state.registry.close_hooks
    for hook in hooks:
        try:
            with anyio.move_on_after(HOOK_TIMEOUT):
                await hook(state, session)
        except Exception:
            log.exception("socket %s hook %r failed", "open" if opening else "close", hook)


async def ws_endpoint(state: EngineState, abort_peer: AbortPeer, websocket: WebSocket) -> None:
    """Serve one WebSocket for its whole life."""
    token = websocket.query_params.get("token") or bearer_token(websocket)
    record = state.tokens.lookup(token)
    if record is None or record.app_id not in state.projects:
        log.info("ws upgrade refused: invalid or expired token")
        body = {"message": UNAUTHORIZED_MESSAGE, "code": "unauthorized"}
        await websocket.send_denial_response(json_response(body, 401))
        return
    await websocket.accept()
    if state.is_banned(record.app_id, record.user_id):
        log.info("ws closed 4003: %s/%s is banned", record.app_id, record.user_id)
        await websocket.close(4003, "User is banned")
        return

    client = websocket.client
    session = Session(
        socket_id=f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}",  # Pusher shape
        app_id=record.app_id,
        user_id=record.user_id,
        peer=(client.host, client.port) if client is not None else None,
        on_closing=state.sockets.discard,
        abort_transport=lambda s: abort_peer(s.peer),
    )
    session.outbox_limit = (state.settings.outbox_max_frames, state.settings.outbox_max_bytes)

    async def receive() -> Inbound | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            return str(text)
        data = message.get("bytes")
        return bytes(data) if data is not None else b""

    async def send_text(text: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.send_text(text)  # on failure the reader sees the disconnect

    async def send_close(code: int, reason: str) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(code, _close_reason(reason))

    state.sockets.add(session)
    state.stats.sockets_opened += 1
    log.info("ws open: %s %s/%s", session.socket_id, session.app_id, session.user_id)
    session.send(
        "connection.established",
        {
            "socket_id": session.socket_id,
            "user_id": session.user_id,
            "heartbeat_interval": _number(state.settings.heartbeat_interval),
            "server_time": state.timestamp(),
        },
    )
    try:
        await _run_hooks(state, session, opening=True)
        await session.run(
            receive=receive,
            send_text=send_text,
            send_close=send_close,
            process=lambda s, m: process_frame(state, s, m),
            idle_timeout=2 * state.settings.heartbeat_interval,
        )
    finally:
        with anyio.CancelScope(shield=True):
            await _run_hooks(state, session, opening=False)
        session.mark_finished()
        log.info("ws closed: %s %s", session.socket_id, session.closed_with)
