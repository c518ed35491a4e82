"""Local validation of user input, before anything touches the network."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from . import _vocab as v

_IDENTITY = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
_OPTIONAL_CAPS = {"name": 100, "os": 50, "os_version": 20, "device_model": 100, "app_version": 20}


def check_identity(value: object, field: str = "user_id") -> str:
    """1–128 characters of ``[A-Za-z0-9_.@-]``; else ValueError naming ``field``."""
    if not isinstance(value, str) or not _IDENTITY.fullmatch(value):
        raise ValueError(f"{field} must be 1-128 characters of [A-Za-z0-9_.@-], got {value!r}")
    return value


def check_non_empty(value: object, field: str) -> str:
    """A non-blank string; else ValueError naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string")
    return value


def check_mint_fields(fields: Mapping[str, str | None]) -> dict[str, str]:
    """The optional device fields of a mint, within the engine's column caps."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        cap = _OPTIONAL_CAPS[name]
        if not isinstance(value, str) or len(value) > cap:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"{name} must be a string of at most {cap} characters")
        out[name] = value
    return out


def check_metadata(value: object, field: str = "metadata") -> dict[str, Any] | None:
    """None, or a JSON object of at most 16 KiB serialised; else ValueError."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"{field} must be a JSON object (a dict), got {type(value).__name__}")
    try:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{field} is not JSON-serialisable: {exc}") from None
    if size > v.MAX_METADATA_BYTES:
        raise ValueError(f"{field} is {size} bytes serialised; the limit is 16 KiB")
    return dict(value)  # pyright: ignore[reportUnknownArgumentType]
