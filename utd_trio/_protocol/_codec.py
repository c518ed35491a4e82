"""The frame codec: strict encoding, tolerant decoding (protocol §5, §9)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from .._errors import ErrorCode, UTDStreamError
from . import _vocab as v

_MAX = v.MAX_FRAME_BYTES


def event_key(name: str) -> str:
    """The matching key of an event name: ``.`` and ``_`` are the same character."""
    return name.replace("_", ".")


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded inbound frame. ``event`` is the matching key (see `event_key`)."""

    event: str
    data: dict[str, Any]
    ref: str | None = None


class DropReason(enum.Enum):
    """Why an inbound frame was dropped (it is counted, the connection stays up)."""

    OVERSIZE = "oversize"
    BINARY = "binary"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    NO_EVENT = "no_event"


@dataclass(frozen=True, slots=True)
class Dropped:
    """An inbound frame that was dropped, and why."""

    reason: DropReason


def _too_big(text: str) -> bool:
    # A str of n characters holds between n and 4n UTF-8 bytes: only encode when in doubt.
    n = len(text)
    if n > _MAX:
        return True
    if n * 4 <= _MAX:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > _MAX


def decode_frame(payload: str | bytes) -> Frame | Dropped:
    """Decode one inbound WebSocket message; never raises."""
    if not isinstance(payload, str):
        return Dropped(DropReason.BINARY)
    if _too_big(payload):
        return Dropped(DropReason.OVERSIZE)
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return Dropped(DropReason.NOT_JSON)
    if not isinstance(obj, dict):
        return Dropped(DropReason.NOT_OBJECT)
    frame = cast("dict[str, Any]", obj)
    name = frame.get(v.FRAME_EVENT)
    if not isinstance(name, str) or not name:
        return Dropped(DropReason.NO_EVENT)
    data = frame.get(v.FRAME_DATA)
    data = cast("dict[str, Any]", data) if isinstance(data, dict) else _data_from_string(data)
    ref = frame.get(v.FRAME_REF)
    if ref is not None and not isinstance(ref, str):
        ref = str(ref) if isinstance(ref, int) and not isinstance(ref, bool) else None
    return Frame(event_key(name), data, ref)


def _data_from_string(data: object) -> dict[str, Any]:
    if isinstance(data, str):
        try:
            inner = json.loads(data)
        except (ValueError, RecursionError):
            return {}
        if isinstance(inner, dict):
            return cast("dict[str, Any]", inner)
    return {}


def encode_frame(event: str, data: Mapping[str, Any] | None = None, ref: str | None = None) -> str:
    """Encode one outbound frame strictly.

    Raises:
        UTDStreamError: INVALID when ``data`` is not JSON-serialisable or the frame would
            exceed 1 MiB (the engine would drop it without a reply).

    """
    if data is not None and not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UTDStreamError(
            ErrorCode.INVALID, f"{event}: data must be a JSON object, got {type(data).__name__}"
        )
    frame: dict[str, Any] = {v.FRAME_EVENT: event, v.FRAME_DATA: dict(data or {})}
    if ref is not None:
        frame[v.FRAME_REF] = ref
    try:
        # ASCII-only output: lone surrogates cannot break the UTF-8 encoding of the frame.
        text = json.dumps(frame, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise UTDStreamError(
            ErrorCode.INVALID, f"{event}: data is not JSON-serialisable ({exc})"
        ) from None
    if _too_big(text):
        raise UTDStreamError(
            ErrorCode.INVALID, f"{event}: frame exceeds the 1 MiB limit; not sent", status=413
        )
    return text
