"""Shared helpers of the sans-IO unit tests (no sockets, no clocks)."""

from __future__ import annotations

import json
from typing import Any

from utd_trio._protocol._vocab import MAX_FRAME_BYTES

MAX = MAX_FRAME_BYTES


def nested(depth: int) -> dict[str, Any]:
    """A dict nested ``depth`` levels deep: ``{"a": {"a": … {}}}``."""
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        child: dict[str, Any] = {}
        node["a"] = child
        node = child
    return root


def frame_text(event: str = "e", filler: str = "") -> str:
    """A valid frame whose ``data.x`` holds ``filler``, as sent on the wire (not escaped)."""
    return json.dumps({"event": event, "data": {"x": filler}}, ensure_ascii=False)


def frame_of_bytes(size: int, char: str = "a", pad: str = "a") -> str:
    """A valid frame of exactly ``size`` UTF-8 bytes, filled with ``char`` then ``pad``."""
    overhead = len(frame_text().encode())
    width = len(char.encode())
    count, rest = divmod(size - overhead, width)
    text = frame_text(filler=char * count + pad * rest)
    assert len(text.encode()) == size
    return text
