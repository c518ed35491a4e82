"""The fast path of WebSocket receive: complete, unmasked server text frames (RFC 6455 §5.2).

Nearly all of the engine's traffic is one complete text frame per message. wsproto parses
each through a generic state machine (buffer, header, masker, incremental UTF-8 decoder,
event object), which measured 41-52 % of the per-message cost; `peel_text_frames` reads the
same frames with a few byte comparisons and one ``bytes.decode``.

The split with wsproto is strict, so that both together behave exactly like wsproto alone:

- `peel_text_frames` takes frames from the start of a read only while each one is a
  complete, unmasked text frame with FIN set, no reserved bits, the shortest length encoding
  (7-, 16- or 64-bit), at most ``limit`` bytes long, and valid UTF-8 (the same strict codec
  wsproto uses). At the first frame that is anything else, it stops: that frame and every
  byte after it go to wsproto, in order, so wsproto raises the same errors (1002, 1007 …)
  and answers control frames as it always did.
- `wsproto_idle` says when wsproto may be bypassed again: its connection is open, it holds
  no buffered bytes, no frame header and no fragmented message, and no events are queued.
  Until then every read goes to wsproto.

Nothing here does I/O; `utd_trio._transport._websocket.WebSocket` is the shell.
"""

from __future__ import annotations

from typing import Any, Final

from wsproto import WSConnection
from wsproto.connection import ConnectionState

__all__ = ["peel_text_frames", "wsproto_idle"]

_TEXT_FIN: Final = 0x81  # FIN, RSV1-3 clear, opcode 0x1 (text)
_LEN_16: Final = 126
_LEN_64: Final = 127
_MAX_16: Final = 0xFFFF
_MSB_64: Final = 1 << 63


def peel_text_frames(data: bytes, limit: int) -> tuple[list[str], int]:
    """The complete text frames at the start of ``data``, and how many bytes they took.

    Stops at the first byte that does not begin a frame of the fast kind (see the module
    docstring); ``data[used:]`` belongs to wsproto. Never raises.
    """
    texts: list[str] = []
    append = texts.append
    pos = 0
    end = len(data)
    while end - pos >= 2:
        if data[pos] != _TEXT_FIN:
            break
        size = data[pos + 1]  # the mask bit is the top bit: a masked frame is >= 128 here
        if size < _LEN_16:
            start = pos + 2
        elif size == _LEN_16:
            start = pos + 4
            if start > end:
                break
            size = (data[pos + 2] << 8) | data[pos + 3]
            if size < _LEN_16:
                break  # not the shortest encoding: wsproto's error
        elif size == _LEN_64:
            start = pos + 10
            if start > end:
                break
            size = int.from_bytes(data[pos + 2 : start], "big")
            if size <= _MAX_16 or size >= _MSB_64:
                break
        else:
            break
        stop = start + size
        if size > limit or stop > end:
            break
        try:
            append(data[start:stop].decode("utf-8"))
        except UnicodeDecodeError:
            break  # wsproto reports it (1007)
        pos = stop
    return texts, pos


def wsproto_idle(conn: WSConnection) -> bool:
    """True when ``conn`` is open and holds nothing: no bytes, no frame, no message, no event.

    Reads wsproto's internals (checked against the version in ``uv.lock`` by
    ``tests/unit/test_ws_fastpath_differential.py``). If they are not there, the answer is
    False, which only turns the fast path off.
    """
    inner: Any = conn.connection
    try:
        if inner is None or inner.state is not ConnectionState.OPEN or inner._events:
            return False
        protocol = inner._proto
        decoder = protocol._frame_decoder
        return (
            decoder.header is None
            and not len(decoder.buffer)
            and protocol._message_decoder.opcode is None
        )
    except AttributeError:
        return False
