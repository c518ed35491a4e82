"""The frame codec: strict encoding, tolerant decoding (protocol §5, §9)."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass
from typing import Any, cast

from .._errors import ErrorCode, UTDStreamError
from .._events import Event
from . import _vocab as v
from ._json_text import compact_encoder

_MAX = v.MAX_FRAME_BYTES
# ASCII-only output: lone surrogates cannot break the UTF-8 encoding of the frame.
_frame_json = compact_encoder(ensure_ascii=True)


def event_key(name: str) -> str:
    """The matching key of an event name: ``.`` and ``_`` are the same character."""
    return name.replace("_", ".")


class Frame:
    """A decoded inbound frame. ``event`` is the matching key (see `event_key`).

    Immutable; two frames are equal when ``event``, ``data`` and ``ref`` are, and ``match``
    takes them in that order. ``record`` is the typed event when the frame was decoded by the
    fast path of `utd_trio._protocol._hot_events` (None otherwise); such a frame decodes
    ``data`` from its text only when it is first read.
    """

    __slots__ = ("_data", "_text", "event", "record", "ref")
    __match_args__ = ("event", "data", "ref")

    event: str
    ref: str | None
    record: Event | None
    _data: dict[str, Any] | None
    _text: str

    def __init__(self, event: str, data: dict[str, Any], ref: str | None = None) -> None:
        _set_event(self, event)
        _set_data(self, data)
        _set_ref(self, ref)
        _set_record(self, None)
        _set_text(self, "")

    @classmethod
    def decoded(cls, event: str, ref: str | None, text: str, record: Event | None) -> Frame:
        """A frame of ``text`` whose typed event ``record`` is known; ``data`` waits.

        ``record`` None: the frame has no event to publish (a ``pong``).
        """
        frame = _new(cls)
        _set_event(frame, event)
        _set_data(frame, None)
        _set_ref(frame, ref)
        _set_record(frame, record)
        _set_text(frame, text)
        return frame

    @property
    def data(self) -> dict[str, Any]:
        """The frame's ``data`` object (``{}`` when it had none)."""
        data = self._data
        if data is None:
            full = _decode_tolerant(self._text)
            data = full.data if isinstance(full, Frame) else {}
            _set_data(self, data)
        return data

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Frame:
            return NotImplemented
        assert isinstance(other, Frame)
        return (self.event, self.data, self.ref) == (other.event, other.data, other.ref)

    def __hash__(self) -> int:
        return hash((self.event, self.data, self.ref))  # unhashable, like the dict in it

    def __repr__(self) -> str:
        return f"Frame(event={self.event!r}, data={self.data!r}, ref={self.ref!r})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


_new = object.__new__
_set_event = (Frame.__dict__["event"]).__set__
_set_data = (Frame.__dict__["_data"]).__set__
_set_ref = (Frame.__dict__["ref"]).__set__
_set_record = (Frame.__dict__["record"]).__set__
_set_text = (Frame.__dict__["_text"]).__set__


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
    """Decode one inbound WebSocket message tolerantly (the reference decoder); never raises."""
    return _decode_tolerant(payload)


def _decode_tolerant(payload: str | bytes) -> Frame | Dropped:
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
        text = _frame_json(frame)
    except (TypeError, ValueError, RecursionError) as exc:
        raise UTDStreamError(
            ErrorCode.INVALID, f"{event}: data is not JSON-serialisable ({exc})"
        ) from None
    if _too_big(text):
        raise UTDStreamError(
            ErrorCode.INVALID, f"{event}: frame exceeds the 1 MiB limit; not sent", status=413
        )
    return text
