"""The receive fast path against wsproto alone: same messages, same closes, same replies.

Byte streams of server frames (text, binary, fragments, pings, pongs, closes, masked frames,
reserved bits, bad UTF-8, bad opcodes, every length encoding, garbage) are cut into reads at
frame boundaries and at random places (text frames cut mid-header and mid-payload, which the
fast path keeps across reads, get a generator of their own), and fed to two `WebSocket`s
over an in-memory stream: one with the fast path (``utd_trio._protocol._ws_frames``), one
with wsproto alone. What each `receive` returned, the close each one ended with and every
byte each one sent back (pongs, close replies) must be the same.

``UTD_WS_EXAMPLES=5000 uv run pytest tests/unit/test_ws_fastpath_differential.py`` runs a long one.
"""

from __future__ import annotations

import itertools
import os
import struct
from dataclasses import dataclass, field
from typing import cast

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request

from utd_trio._protocol._ws_frames import FAST_FRAME_CAP, peel_text_frames, wsproto_idle
from utd_trio._transport._websocket import WebSocket, WebSocketClosed

EXAMPLES = int(os.environ.get("UTD_WS_EXAMPLES", "100"))
BIG = 70_000  # a payload that needs the 64-bit length


# --- frames --------------------------------------------------------------------------------


def frame(
    payload: bytes,
    *,
    opcode: int = 0x1,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: str = "min",
) -> bytes:
    """One raw frame; ``length`` "16" / "64" forces a longer length encoding than needed."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if length == "64" or (length == "min" and n > 0xFFFF):
        head = bytes([127]) + struct.pack("!Q", n)
    elif length == "16" or (length == "min" and n >= 126):
        head = bytes([126]) + struct.pack("!H", n)
    else:
        head = bytes([n])
    if mask is not None:
        head = bytes([head[0] | 0x80]) + head[1:] + mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([first]) + head + payload


def text(
    s: str,
    *,
    opcode: int = 0x1,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    length: str = "min",
) -> bytes:
    """A text frame of ``s``."""
    return frame(s.encode(), opcode=opcode, fin=fin, rsv=rsv, mask=mask, length=length)


def close(code: int | None = 1000, reason: str = "") -> bytes:
    """A close frame (no payload when ``code`` is None)."""
    body = b"" if code is None else struct.pack("!H", code) + reason.encode()
    return frame(body, opcode=0x8)


# --- an in-memory peer -----------------------------------------------------------------------


@dataclass
class ScriptedStream:
    """A `ByteStream` that answers the upgrade, then returns ``reads`` one per call."""

    reads: list[bytes]
    with_101: bytes = b""
    sent: bytearray = field(default_factory=bytearray)
    server: WSConnection = field(default_factory=lambda: WSConnection(ConnectionType.SERVER))
    accepted: bool = False

    async def receive_some(self, max_bytes: int) -> bytes:
        """The 101 first (with ``with_101``), then the scripted reads, then end of stream."""
        await trio.lowlevel.checkpoint()
        if not self.accepted:
            self.accepted = True
            self.server.receive_data(bytes(self.sent))
            events = list(self.server.events())
            assert isinstance(events[0], Request)
            self.sent.clear()
            return self.server.send(AcceptConnection()) + self.with_101
        if not self.reads:
            return b""
        chunk = self.reads.pop(0)
        assert len(chunk) <= max_bytes
        return chunk

    async def send_all(self, data: bytes) -> None:
        """Keep what the client wrote."""
        self.sent += data

    async def aclose(self) -> None:
        """Nothing to release."""


Transcript = list[object]


async def transcript(
    reads: list[bytes], with_101: bytes, max_message: int, fast: bool
) -> tuple[Transcript, int]:
    """Every `receive` result, the close, and the frames the client sent after the upgrade.

    Also how many messages the fast path read.
    """
    stream = ScriptedStream(list(reads), with_101)
    ws = await WebSocket.connect(
        stream,
        "example.test",
        "/ws",
        max_message=max_message,
        receive_buffer=1 << 20,
        control_timeout=1.0,
        fast_path=fast,
    )
    out: Transcript = []
    for _ in range(len(reads) + 3):
        try:
            out.append(await ws.receive())
        except WebSocketClosed as exc:
            out.append(("closed", exc.code, exc.reason))
            break
    # Client frames are masked with random keys: compare what the server end reads of them.
    stream.server.receive_data(bytes(stream.sent))
    out.append(("sent", list(stream.server.events())))
    return out, ws.fast_messages


async def compare(reads: list[bytes], with_101: bytes = b"", max_message: int = 1 << 20) -> int:
    """Fast path and wsproto alone must agree on ``reads``; how many messages were fast."""
    expected, none = await transcript(reads, with_101, max_message, fast=False)
    got, fast = await transcript(reads, with_101, max_message, fast=True)
    assert none == 0
    assert got == expected
    return fast


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` cut at ``points`` (any order, duplicates allowed) into non-empty reads."""
    edges = sorted({p for p in points if 0 < p < len(data)})
    bounds = [0, *edges, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


# --- generated streams -----------------------------------------------------------------------

masks = st.binary(min_size=4, max_size=4)
words = st.text(st.characters(codec="utf-8"), max_size=40)
sizes = st.sampled_from(["min", "min", "min", "16", "64"])
BAD_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\xc0\xaf", b"\xf4\x90\x80\x80"]


def _fragments(parts: list[str], opcode: int) -> bytes:
    out = b""
    for i, part in enumerate(parts):
        out += frame(part.encode(), opcode=opcode if i == 0 else 0x0, fin=i == len(parts) - 1)
    return out


@st.composite
def any_frame(draw: st.DrawFn) -> bytes:
    """One frame (or a few, for a fragmented message), valid or not."""
    kind = draw(st.integers(0, 13))
    s = draw(words)
    if kind <= 2:
        return text(s, length=draw(sizes))
    if kind == 3:
        return text(draw(st.sampled_from(["a", "é", "€"])) * draw(st.integers(126, 300)))
    if kind == 4:
        return frame(s.encode() + draw(st.sampled_from(BAD_UTF8)))
    if kind == 5:
        return frame(draw(st.binary(max_size=40)), opcode=0x2)
    if kind == 6:
        return _fragments(
            draw(st.lists(words, min_size=2, max_size=4)), draw(st.sampled_from([1, 2]))
        )
    if kind == 7:  # one character cut across two fragments
        return frame("é".encode()[:1], fin=False) + frame("é".encode()[1:], opcode=0x0)
    if kind == 8:  # ping / pong, some too long, some fragmented (both are errors)
        size = draw(st.sampled_from([0, 5, 20, 125, 126, 130]))
        return frame(
            draw(st.binary(min_size=size, max_size=size)),
            opcode=draw(st.sampled_from([0x9, 0xA])),
            fin=draw(st.integers(0, 9)) > 0,
        )
    if kind == 9:
        return close(draw(st.sampled_from([1000, 1001, 1008, 3000, 4001, 4999])), s)
    if kind == 10:  # odd closes: none, 1 byte, reserved / local-only codes, bad UTF-8 reason
        return draw(
            st.sampled_from(
                [
                    close(None),
                    frame(b"\x03", opcode=0x8),
                    close(1005),
                    close(999),
                    close(1004),
                    close(2000),
                    frame(b"\x03\xe8\xff", opcode=0x8),
                ]
            )
        )
    if kind == 11:  # masked, reserved bits, unknown opcodes, continuation out of place
        return draw(
            st.sampled_from(
                [
                    text(s, mask=draw(masks)),
                    text(s, rsv=draw(st.integers(1, 7))),
                    text(s, opcode=draw(st.sampled_from([3, 4, 5, 6, 7, 0xB, 0xF]))),
                    text(s, opcode=0x0),
                    text(s, fin=False),
                ]
            )
        )
    if kind == 12:
        return draw(st.binary(min_size=1, max_size=12))  # garbage
    return text(s)


streams = st.lists(any_frame(), min_size=1, max_size=12)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    frames=streams,
    with_huge=st.booleans(),
    points=st.lists(st.integers(0, 10_000), max_size=6),
    max_message=st.sampled_from([1 << 20, 100, 5]),
    split_101=st.integers(0, 2),
)
def test_fast_path_and_wsproto_agree(
    frames: list[bytes], with_huge: bool, points: list[int], max_message: int, split_101: int
) -> None:
    if with_huge:
        frames = [*frames[:1], text("x" * BIG), *frames[1:]]

    async def main() -> None:
        data = b"".join(frames)
        # One read per frame, all in one read, and random cuts (the first may ride on the 101).
        by_frame = list(frames)
        await compare(by_frame[split_101:], b"".join(by_frame[:split_101]), max_message)
        await compare([data], b"", max_message)
        await compare(cut(data, points), b"", max_message)

    trio.run(main)


# --- every byte boundary ----------------------------------------------------------------------

MIXED = b"".join(
    [
        text("hello"),
        text("é€😀" * 30),  # 16-bit length, multi-byte characters
        frame(b"p1", opcode=0x9),
        text('{"event":"message.new","data":{}}'),
        frame(b"\x00\x01", opcode=0x2),
        frame(b"frag", fin=False),
        frame(b"pong?", opcode=0xA),
        frame(b"ment", opcode=0x0),
        text(""),
        frame("é".encode()[:1], fin=False),
        frame("é".encode()[1:], opcode=0x0),
        text("after"),
        close(4001, "bye"),
        text("never"),
    ]
)


def test_every_byte_boundary_split_agrees() -> None:
    async def main() -> None:
        for i in range(1, len(MIXED)):
            await compare([MIXED[:i], MIXED[i:]])
        for i in range(0, len(MIXED), 7):
            await compare([MIXED[i:]], MIXED[:i])
        await compare([MIXED[i : i + 1] for i in range(len(MIXED))])

    trio.run(main)


@pytest.mark.parametrize(
    "tail",
    [
        frame(b"\xff"),
        text("x", mask=b"abcd"),
        text("x", rsv=4),
        text("x", length="16"),
        text("x", opcode=3),
        frame(b"a", opcode=0x0),
        close(1000, "done"),
    ],
    ids=["bad-utf8", "masked", "rsv", "long-length", "bad-opcode", "continuation", "close"],
)
def test_every_byte_boundary_around_big_frames_agrees(tail: bytes) -> None:
    stream = text("a" * BIG) + text("b" * 300) + tail + text("c")

    async def main() -> None:
        edges = [
            *range(1, 12),
            *range(BIG, BIG + 12),
            *range(len(stream) - len(tail) - 12, len(stream)),
        ]
        for i in edges:
            await compare([stream[:i], stream[i:]])
        await compare([stream], max_message=BIG - 1)
        await compare([stream[:5000], stream[5000:]], max_message=BIG - 1)

    trio.run(main)


# --- the pieces -------------------------------------------------------------------------------


def test_peel_reads_every_length_form_and_stops_at_the_first_other_frame() -> None:
    frames = [text("a"), text("b" * 126), text("c" * 0x10000), text("d")]
    data = b"".join(frames) + frame(b"ping", opcode=0x9) + text("e")
    texts, used = peel_text_frames(data, 1 << 20)
    assert texts == ["a", "b" * 126, "c" * 0x10000, "d"]
    assert used == sum(map(len, frames))
    assert peel_text_frames(data[: len(frames[0]) + 3], 1 << 20) == (["a"], len(frames[0]))
    assert peel_text_frames(text("x" * 10), 9) == ([], 0)
    assert peel_text_frames(text("x", length="64"), 100) == ([], 0)
    assert peel_text_frames(b"", 100) == ([], 0)


def test_wsproto_idle_follows_wsproto_state() -> None:
    """The fast path leans on wsproto internals: this fails loudly if they change."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    assert not wsproto_idle(client)
    server.receive_data(client.send(Request(host="h", target="/")))
    list(server.events())
    client.receive_data(server.send(AcceptConnection()))
    list(client.events())
    assert wsproto_idle(client)
    for chunk, idle in [
        (text("abc")[:3], False),  # a partial frame
        (text("abc")[3:], True),
        (frame(b"ab", fin=False), False),  # a fragmented message
        (frame(b"c", opcode=0x0), True),
        (close(1000), False),
    ]:
        client.receive_data(chunk)
        list(client.events())
        assert wsproto_idle(client) is idle, chunk


def test_the_fast_path_reads_plain_text_frames() -> None:
    """The differential tests would pass trivially if the fast path never ran."""
    reads = [text("a") + text("b"), frame(b"x", opcode=0x9) + text("c"), text("d")]
    assert trio.run(compare, reads) == 3  # "c" is wsproto's: it follows the ping
    split = text("é" * 100) + text("b")
    assert trio.run(compare, [split[:1], split[1:3], split[3:50], split[50:]]) == 2


def test_a_stream_cut_into_64k_reads_goes_through_the_fast_path() -> None:
    """The fast path keeps the frame a read cuts: nearly every message of a stream is fast.

    Before it did, wsproto took the cut frame and everything after it (wsproto was never idle
    again): 165 fast messages out of 5,000.
    """
    messages = [
        f'{{"event":"message.new","seq":{i},"body":"{"é" * (i % 97)}"}}' for i in range(5000)
    ]
    messages[1234] = "x" * 200_000  # a frame longer than three reads
    data = b"".join(text(m) for m in messages)
    reads = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert len(reads) > 10

    async def main() -> None:
        fast = await compare(reads)
        assert fast >= 0.99 * len(messages)
        assert fast == len(messages)
        got, _ = await transcript(reads, b"", 1 << 20, fast=True)
        assert [m for batch in got[:-2] for m in cast("list[str]", batch)] == messages

    trio.run(main)


# --- frames cut across reads ----------------------------------------------------------------

LONG = st.sampled_from(["a", "é", "€", "😀", "aé€😀"])


@st.composite
def fast_frame(draw: st.DrawFn) -> bytes:
    """Mostly text frames of the fast kind and every length form, some with bad UTF-8 inside."""
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        return text(draw(words))
    if kind <= 5:
        return text(draw(LONG) * draw(st.integers(30, 400)))
    if kind == 6:
        return text(draw(LONG) * draw(st.integers(16_000, 20_000)))  # 64-bit length
    if kind == 7:  # bad bytes somewhere in a long payload, or a character cut at its end
        body = (draw(LONG) * draw(st.integers(40, 3000))).encode()
        at = draw(st.integers(0, len(body)))
        bad = draw(st.sampled_from(BAD_UTF8))
        return frame(body[:at] + bad + body[at:] if draw(st.booleans()) else body + bad)
    if kind == 8:
        return frame("é€😀".encode() * draw(st.integers(1, 300)) + b"\xf0\x9f")  # cut at the end
    return draw(any_frame())


def _reads(data: bytes, points: list[int], tiny: list[int]) -> list[bytes]:
    """``data`` cut at ``points``, with runs of 1-3 byte reads at ``tiny`` (inside headers)."""
    edges = list(points)
    for p in tiny:
        edges += [p, p + 1, p + 2, p + 4]
    return cut(data, edges)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    frames=st.lists(fast_frame(), min_size=1, max_size=10),
    data=st.data(),
    max_message=st.sampled_from([1 << 20, 1 << 20, 300, 5]),
)
def test_frames_cut_across_reads_agree(
    frames: list[bytes], data: st.DataObject, max_message: int
) -> None:
    stream = b"".join(frames)
    size = len(stream)
    at = st.integers(0, size)
    points = data.draw(st.lists(at, max_size=40))
    tiny = data.draw(st.lists(at, max_size=4))
    # Cuts that fall inside a frame: after its first byte, in its header, in its payload.
    offsets = list(itertools.accumulate(len(f) for f in frames))
    for start in [0, *offsets[:-1]]:
        points += [start + d for d in data.draw(st.lists(st.integers(1, 12), max_size=2))]

    async def main() -> None:
        await compare(_reads(stream, points, tiny), b"", max_message)

    trio.run(main)


def test_fast_frames_cut_everywhere_agree() -> None:
    """Two frames cut at every byte, and read one byte at a time."""
    for payload in [b"hi", "é€😀".encode() * 50, b"a\xffb" * 50, "é".encode() * 40 + b"\xc3"]:
        stream = frame(payload) + text("next") + frame(b"p", opcode=0x9)

        async def main(stream: bytes = stream) -> None:
            for i in range(1, len(stream)):
                await compare([stream[:i], stream[i:]])
                await compare([stream[:i], stream[i : i + 7], stream[i + 7 :]])
            await compare([stream[i : i + 1] for i in range(len(stream))])

        trio.run(main)


@pytest.mark.parametrize("size", [FAST_FRAME_CAP, FAST_FRAME_CAP + 1])
def test_frames_at_the_cap_cut_across_reads_agree(size: int) -> None:
    """Up to the cap the fast path keeps a cut frame; above it, the frame is wsproto's."""
    stream = text("a" * size) + text("b") + text("é" * 1000)
    reads = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]

    async def main() -> None:
        fast = await compare(reads, max_message=2 << 20)
        assert fast == (3 if size <= FAST_FRAME_CAP else 0)
        await compare(reads, max_message=size - 1)  # 1009 either way
        await compare(reads, max_message=size)

    trio.run(main)
