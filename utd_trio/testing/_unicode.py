r"""Inbound strings must be valid Unicode: lone surrogates are refused where JSON is decoded.

JSON can carry half of a UTF-16 surrogate pair on its own (``"\ud800"``), and Python's decoder
turns it into a ``str`` that cannot be encoded as UTF-8. Were the engine to store one (a
message text, a group name, a display name...), every later answer carrying it would fail to
encode: the REST response a 500, the WebSocket frame a 1011 close, for every user who reads
it, for good. So the engine checks each decoded request body and frame once, in a value or a
key at any depth, before any handler sees it, and refuses it with 422 ``invalid``:

- REST bodies: ``read_json_object`` (every bearer route) and the mint's body check;
- WebSocket frames: ``process_frame``, which answers ``error`` 422 ``invalid`` with the
  frame's ``ref`` (``invalid_frame`` without ``ref`` when the ``ref`` itself is the culprit).

Strings that reach the engine by other ways cannot hold a surrogate: headers are decoded as
Latin-1, query strings and paths with ``errors="replace"``, and WebSocket text frames are
strict UTF-8 (wsproto closes a connection that sends invalid UTF-8 with 1007).
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

from ._errors import EngineError

__all__ = ["check_unicode", "lone_surrogate_path"]

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_MAX_KEY: Final = 40
_MAX_PATH: Final = 200

_Path = tuple[str | int, ...]


def _bad(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def _show(path: _Path, root: str) -> str:
    out = root
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part.encode("utf-8", "backslashreplace").decode("utf-8")
            out += "." + (key if len(key) <= _MAX_KEY else key[:_MAX_KEY] + "...")
    return out if len(out) <= _MAX_PATH else out[:_MAX_PATH] + "..."


def lone_surrogate_path(value: object, root: str = "$") -> str | None:
    """Where ``value`` (decoded JSON) holds a surrogate code point, else ``None``.

    The answer names the place, e.g. ``data.attachment.name`` or ``body.user_ids[2]``, never
    the string itself. The walk is iterative, so any nesting ``json.loads`` accepted is fine.
    """
    stack: list[tuple[object, _Path]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _bad(item):
                return _show(path, root)
        elif isinstance(item, dict):
            for key, child in cast(dict[Any, object], item).items():
                if isinstance(key, str) and _bad(key):
                    return _show((*path, key), root)
                stack.append((child, (*path, str(key))))
        elif isinstance(item, list):
            stack.extend((child, (*path, i)) for i, child in enumerate(cast(list[object], item)))
    return None


def check_unicode(value: object, root: str) -> None:
    """Raise 422 ``invalid`` if ``value`` (decoded JSON named ``root``) holds a lone surrogate."""
    where = lone_surrogate_path(value, root)
    if where is not None:
        raise EngineError(422, "invalid", f"{where} is not valid Unicode (a lone UTF-16 surrogate)")
