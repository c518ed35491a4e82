"""Local validation of user input, before anything touches the network.

The one home of every argument check of `open_signaling`, `UTDApi` and the verbs: each raises
ValueError (a bad value) or `ArgumentTypeError` (a wrong type; both a TypeError and a
ValueError) naming the parameter. A message quotes at most ~80 characters of the argument
(`shown`) and never a secret.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Mapping, Sequence
from inspect import isawaitable
from typing import Any, TypeVar, cast

from .._errors import ErrorCode, UTDStreamError
from .._models import Attachment, Session
from . import _vocab as v
from ._json_text import compact_encoder

_T = TypeVar("_T")
_IDENTITY = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
_OPTIONAL_CAPS = {"name": 100, "os": 50, "os_version": 20, "device_model": 100, "app_version": 20}
_SHOWN = 80
_HEADER_VALUE = re.compile(r"[\x21-\x7e]+")
_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE = re.compile(rf"{_TOKEN_CHARS}/{_TOKEN_CHARS}(\s*;[\x20-\x7e]*)?")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type; a TypeError, and a ValueError for older callers."""


def shown(value: object, limit: int = _SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters with "…": a message never quotes 10 MB."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} long, cut)"
    size = _size_of(value)
    if size is not None and size > 16:
        # Never build the repr of a huge container just to cut it.
        return f"<{type(value).__name__} of {size} items>"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _size_of(value: object) -> int | None:
    if isinstance(value, Sequence | Mapping):
        return len(cast("Sequence[object]", value))
    return None


def check_no_surrogates(value: str, field: str) -> str:
    """``value`` as valid Unicode text: a lone surrogate (such as U+D800) is refused.

    Such a string cannot be encoded as UTF-8, so no engine could store or send it back.
    """
    if value.isascii():  # a flag of the string: no scan
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{field} holds a lone surrogate (U+{ord(value[exc.start]):04X}) at index "
            f"{exc.start}; it is not valid Unicode text"
        ) from None
    return value


def check_identity(value: object, field: str = "user_id") -> str:
    """1–128 characters of ``[A-Za-z0-9_.@-]``; else ValueError naming ``field``."""
    if not isinstance(value, str) or not _IDENTITY.fullmatch(value):
        raise ValueError(f"{field} must be 1-128 characters of [A-Za-z0-9_.@-], got {shown(value)}")
    return value


def check_non_empty(value: object, field: str) -> str:
    """A non-blank string of valid Unicode; else ValueError naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string")
    return check_no_surrogates(value, field)


def check_text(value: object, field: str, limit: int) -> str:
    """A non-empty string of at most ``limit`` characters of valid Unicode."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} must be a non-empty string")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters; the limit is {limit}")
    return check_no_surrogates(value, field)


def check_mint_fields(fields: Mapping[str, str | None]) -> dict[str, str]:
    """The optional device fields of a mint, within the engine's column caps."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        cap = _OPTIONAL_CAPS[name]
        if not isinstance(value, str) or len(value) > cap:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"{name} must be a string of at most {cap} characters")
        out[name] = check_no_surrogates(value, name)
    return out


_metadata_json = compact_encoder(ensure_ascii=False)
_FLAT_ENTRIES = 64  # entries of a metadata object that `_surely_small` looks at, at most
_FLAT_INT = 10**18  # ints below this in size write at most 20 characters
# Written out, an ASCII character takes at most 6 characters (``\u001f``), one byte each; an
# entry adds at most 4 around its key (quotes, colon, comma), a string value 2 quotes; an int
# of `_FLAT_INT` takes at most 20, ``false`` / ``null`` at most 5.
_ESCAPED, _ENTRY, _INT_CHARS, _WORD_CHARS = 6, 4, 20, 5


def check_metadata(value: object, field: str = "metadata") -> dict[str, Any] | None:
    """None, or a JSON object of at most 16 KiB serialised, valid Unicode; else ValueError."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} must be a JSON object (a dict), got {type(value).__name__}")
    if _surely_small(value):  # pyright: ignore[reportUnknownArgumentType]
        return dict(value)  # pyright: ignore[reportUnknownArgumentType]
    try:
        text = _metadata_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{field} is not JSON-serialisable: {shown(str(exc))}") from None
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        check_no_surrogates(text, field)  # raises, naming the surrogate
        raise
    if size > v.MAX_METADATA_BYTES:
        raise ValueError(f"{field} is {size} bytes serialised; the limit is 16 KiB")
    return dict(value)  # pyright: ignore[reportUnknownArgumentType]


def _surely_small(value: object) -> bool:
    """True for a flat dict that surely passes `check_metadata` without being written out.

    Such a dict holds at most `_FLAT_ENTRIES` entries of ASCII string keys whose values are
    ASCII strings, ints (not subclasses) of fewer than 19 digits, bools or None, and its
    JSON text could not reach 16 KiB even if every character were escaped. Anything else
    (nesting, floats, other text, more entries) is written out and measured.
    """
    if type(value) is not dict or len(cast("dict[object, object]", value)) > _FLAT_ENTRIES:
        return False
    bound = 2
    for key, item in cast("dict[object, object]", value).items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(item)
        if kind is str:
            if not cast("str", item).isascii():
                return False
            size = len(cast("str", item)) * _ESCAPED + 2
        elif kind is int:
            if not -_FLAT_INT < cast("int", item) < _FLAT_INT:
                return False
            size = _INT_CHARS
        elif item is None or kind is bool:
            size = _WORD_CHARS
        else:
            return False
        bound += len(key) * _ESCAPED + _ENTRY + size
    return bound <= v.MAX_METADATA_BYTES


# --- request arguments (built in `_requests.py`) -----------------------------------------


def check_not_self(value: str, own_id: str | None, message: str) -> str:
    """``value`` unless it is this user's own id ``own_id``; else ValueError(``message``)."""
    if value == own_id:
        raise ValueError(message)
    return value


def check_reject_reason(reason: object) -> str | None:
    """None, or a reason a callee may give for rejecting a call (``declined`` / ``busy``)."""
    return None if reason is None else check_choice(reason, "reason", v.REJECT_REASONS)


def check_attachment(value: object) -> Attachment | None:
    """None, or an `Attachment` (from ``upload`` / ``presign_upload``); else an error naming it."""
    if value is not None and not isinstance(value, Attachment):
        raise ArgumentTypeError(f"attachment must be an Attachment, got {type(value).__name__}")
    return value


def check_message_body(text: object, attachment: object) -> tuple[str | None, Attachment | None]:
    """A message's ``text`` (≤ 4000 characters) and ``attachment``: at least one of them."""
    body = None if text is None else check_text(text, "text", v.MAX_TEXT_CHARS)
    media = check_attachment(attachment)
    if body is None and media is None:
        raise ValueError("text or attachment: a message needs at least one of them")
    return body, media


# --- options ------------------------------------------------------------------------------


def check_seconds(value: object, field: str, *, allow_none: bool = False) -> float | None:
    """A finite number of seconds > 0 (not a bool); None only with ``allow_none``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(f"{field} must be a number of seconds, got {shown(value)}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{field} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def check_size(value: object, field: str) -> int:
    """A positive int (a buffer size; not a bool); else an error naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{field} must be an int, got {shown(value)}")
    if value < 1:
        raise ValueError(f"{field} must be >= 1, got {value!r}")
    return value


def check_bool(value: object, field: str) -> bool:
    """``True`` or ``False`` itself: ``'no'`` is truthy, so a non-bool is refused."""
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{field} must be True or False, got {shown(value)}")
    return value


def check_instance(value: object, field: str, kind: type[_T], what: str) -> _T | None:
    """None, or an instance of ``kind`` (described as ``what``); else an error naming it."""
    if value is not None and not isinstance(value, kind):
        raise ArgumentTypeError(f"{field} must be {what} or None, got {type(value).__name__}")
    return value


def check_callable(value: object, field: str) -> object:
    """A callable; else an error naming ``field``."""
    if not callable(value):
        raise ArgumentTypeError(f"{field} must be an async callable, got {type(value).__name__}")
    return value


def check_provider_call(result: object) -> Awaitable[object]:
    """What calling ``session_provider`` returned must be awaitable (an async callable)."""
    if not isawaitable(result):
        raise UTDStreamError(
            ErrorCode.PROTOCOL,
            f"session_provider must be an async callable; calling it returned "
            f"{type(result).__name__}, which cannot be awaited",
        )
    return result


def check_provider_reply(raw: object) -> Mapping[str, Any] | Session:
    """A ``session_provider``'s reply must be the mint JSON (a mapping) or a `Session`."""
    if isinstance(raw, Session):
        return raw
    if not isinstance(raw, Mapping):
        raise UTDStreamError(
            ErrorCode.PROTOCOL,
            f"session_provider must return the mint JSON (a mapping) or a Session, got "
            f"{type(raw).__name__}",
        )
    return cast("Mapping[str, Any]", raw)


# --- REST arguments -----------------------------------------------------------------------


def check_header_value(value: object, field: str, *, secret: bool = True) -> str:
    """A header-safe credential; the message never echoes a secret."""
    if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
        quoted = "" if secret else f", got {shown(value)}"
        raise ValueError(f"{field} must be a non-empty string of visible ASCII{quoted}")
    return value


def check_push_token(token: object) -> str:
    """A non-empty push token of at most 4096 characters."""
    if not isinstance(token, str) or not token.strip() or len(token) > 4096:
        raise ValueError("token must be a non-empty string of at most 4096 characters")
    return check_no_surrogates(token, "token")


def check_choice(value: object, field: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``; else ValueError naming ``field``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{field} must be one of {', '.join(choices)}; got {shown(value)}")
    return value


def check_count(value: object, field: str) -> int:
    """A non-negative int (not a bool); else ValueError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a non-negative integer, got {shown(value)}")
    return value


def check_int_in(value: object, field: str, low: int, high: int) -> int:
    """An int (not a bool) in ``low..high``; else ValueError naming ``field``."""
    number = check_count(value, field)
    if not low <= number <= high:
        raise ValueError(f"{field} must be in {low}..{high}, got {number}")
    return number


def check_content_type(value: object) -> str:
    """A ``type/subtype`` MIME type, parameters allowed, nothing that breaks a header."""
    if not isinstance(value, str) or not _CONTENT_TYPE.fullmatch(value):
        raise ValueError(f"content_type must be a MIME type like 'image/png', got {shown(value)}")
    return value


def check_ids(values: object, field: str, *, limit: int | None = None) -> list[str]:
    """A sequence (not a str) of valid identities, at most ``limit`` of them."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{field} must be a sequence of user ids (not a single string)")
    items = cast("Sequence[object]", values)
    if limit is not None and len(items) > limit:
        raise ValueError(f"{field} holds {len(items)} ids; at most {limit} are allowed")
    return [check_identity(item, field) for item in items]
