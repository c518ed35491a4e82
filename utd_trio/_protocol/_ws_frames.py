"""The fast path of WebSocket receive: unmasked server text frames (RFC 6455 §5.2).

Nearly all of the engine's traffic is one text frame per message. wsproto parses each
through a generic state machine (buffer, header, masker, incremental UTF-8 decoder, event
object), which measured 41-52 % of the per-message cost; `peel_text_frames` reads the same
frames with a few byte comparisons and one ``bytes.decode``.

The split with wsproto is strict, so that both together behave exactly like wsproto alone:

- A frame is of the fast kind when it is an unmasked text frame with FIN set, no reserved
  bits, the shortest length encoding (7-, 16- or 64-bit) and at most ``limit`` bytes long.
  `peel_text_frames` takes complete frames of that kind, with valid UTF-8 (the same strict
  codec wsproto uses), from the start of a read.
- `TextFrameReader` adds the frame cut by the end of a read (reads are 64 KiB, so nearly
  every read ends inside one): it keeps the bytes of a fast frame's start (a cut header too)
  and completes the frame on the next reads. It checks the UTF-8 of each read's piece with
  the incremental decoder wsproto uses, on the same pieces, so bad UTF-8 is found on the read
  where wsproto finds it; the frame's bytes are then replayed to wsproto read by read (see
  `TextFrameReader.feed`), which reports it (1007) with the very same reason.
- At the first frame that is anything else, the reader stops: that frame and every byte
  after it go to wsproto, in order, so wsproto raises the same errors (1002, 1007 …) and
  answers control frames as it always did.
- `wsproto_idle` says when wsproto may be bypassed again: its connection is open, it holds
  no buffered bytes, no frame header and no fragmented message, and no events are queued.
  Until then every read goes to wsproto.

Nothing here does I/O; `utd_trio._transport._websocket.WebSocket` is the shell.
"""

from __future__ import annotations

import codecs
from typing import Any, Final

from wsproto import WSConnection
from wsproto.connection import Connection, ConnectionState

__all__ = ["FAST_FRAME_CAP", "TextFrameReader", "peel_text_frames", "wsproto_idle"]

_TEXT_FIN: Final = 0x81  # FIN, RSV1-3 clear, opcode 0x1 (text)
_LEN_16: Final = 126
_LEN_64: Final = 127
_MAX_16: Final = 0xFFFF
_MSB_64: Final = 1 << 63
_NOTHING: Final[tuple[bytes, ...]] = ()

FAST_FRAME_CAP: Final = 1 << 20
"""The largest frame the fast path keeps across reads; larger ones are wsproto's."""


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


def _cut_frame(data: bytes, pos: int, limit: int) -> tuple[int, int] | None:
    """``data[pos:]`` as the start of a fast frame it does not hold whole.

    ``(start, size)`` (payload offset and length) when the header is complete; ``(0, 0)``
    when the header itself is cut; None when the bytes at ``pos`` are anything else.
    """
    end = len(data)
    if data[pos] != _TEXT_FIN:
        return None
    if end - pos < 2:
        return 0, 0
    size = data[pos + 1]
    if size < _LEN_16:
        start = pos + 2
    elif size == _LEN_16:
        start = pos + 4
        if start > end:
            return 0, 0
        size = (data[pos + 2] << 8) | data[pos + 3]
        if size < _LEN_16:
            return None
    elif size == _LEN_64:
        start = pos + 10
        if start > end:
            return 0, 0
        size = int.from_bytes(data[pos + 2 : start], "big")
        if size <= _MAX_16 or size >= _MSB_64:
            return None
    else:
        return None
    if size > limit or start + size <= end:
        return None  # too big, or whole (and then `peel_text_frames` refused its UTF-8)
    return start, size


class TextFrameReader:
    """`peel_text_frames` over a stream of reads: also keeps the fast frame a read cuts.

    One per connection, used only while wsproto is idle (`wsproto_idle`); while it holds a
    frame, wsproto has been given nothing since that frame began, so it stays idle.
    """

    __slots__ = ("_decoder", "_held", "_limit", "_parts", "_remaining")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._held: list[bytes] = []  # the raw bytes of the cut frame, one item per read
        self._remaining = 0  # payload bytes still to come; 0 while the header is cut
        self._parts: list[str] = []
        self._decoder: codecs.IncrementalDecoder | None = None

    @property
    def holding(self) -> bool:
        """True while the start of a frame waits for the next read."""
        return bool(self._held)

    def feed(self, data: bytes) -> tuple[list[str], tuple[bytes, ...]]:
        """The messages ``data`` completes, and the reads to give wsproto after them, in order.

        wsproto gets nothing (everything was fast, or the read ends in a fast frame that is
        now held), the bytes from the first frame of another kind, or, when a held frame's
        UTF-8 turns out bad, that frame's earlier reads and then ``data``: wsproto must see
        them one read at a time, as it would have, for its 1007 reason (which names the
        byte's position in the piece it decoded) to be the same.
        """
        texts: list[str] = []
        if self._held:
            if not self._remaining:  # the header was cut: parse the frame afresh
                data = b"".join(self._held) + data
                self._held = []
            else:
                remaining = self._remaining
                decoder = self._decoder
                assert decoder is not None
                last = len(data) >= remaining
                try:
                    part = decoder.decode(data[:remaining] if last else data, last)
                except UnicodeDecodeError:
                    held = self._held
                    self._reset()
                    return texts, (*held, data)
                if not last:
                    self._parts.append(part)
                    self._held.append(data)
                    self._remaining = remaining - len(data)
                    return texts, _NOTHING
                self._parts.append(part)
                texts.append("".join(self._parts))
                self._reset()
                if remaining == len(data):
                    return texts, _NOTHING
                data = data[remaining:]
        more, pos = peel_text_frames(data, self._limit)
        if texts:
            texts += more
        else:
            texts = more
        if pos == len(data):
            return texts, _NOTHING
        cut = _cut_frame(data, pos, self._limit)
        if cut is None:
            return texts, (data[pos:] if pos else data,)
        start, size = cut
        rest = data[pos:] if pos else data
        if start:
            decoder = codecs.getincrementaldecoder("utf-8")("strict")
            try:
                part = decoder.decode(data[start:], False)
            except UnicodeDecodeError:
                return texts, (rest,)  # wsproto decodes the same piece and reports it
            self._decoder = decoder
            self._parts = [part]
            self._remaining = size - (len(data) - start)
        self._held = [rest]
        return texts, _NOTHING

    def _reset(self) -> None:
        self._held = []
        self._remaining = 0
        self._parts = []
        self._decoder = None


def wsproto_idle(conn: WSConnection | Connection) -> bool:
    """True when ``conn`` is open and holds nothing: no bytes, no frame, no message, no event.

    ``conn`` is a `WSConnection` or, once its handshake is done, the `Connection` it made.

    Reads wsproto's internals (checked against the version in ``uv.lock`` by
    ``tests/unit/test_ws_fastpath_differential.py``). If they are not there, the answer is
    False, which only turns the fast path off.
    """
    inner: Any = conn.connection if isinstance(conn, WSConnection) else conn
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
