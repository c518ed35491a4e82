"""The send fast path against wsproto: the same bytes, and a wsproto server reads them back.

`encode_text_frame` must write exactly the frame wsproto's client connection writes for
``TextMessage(text)`` (with wsproto's random masking key pinned to the same 4 bytes), and a
wsproto server connection must read it as one whole text message equal to ``text``. Texts
come from hypothesis (non-BMP characters too) and from the edges of the length encodings
(125/126, 65535/65536 bytes) and of the two masking ways (``_SMALL_PAYLOAD``).
"""

from __future__ import annotations

import struct
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from utd_trio._protocol._ws_encode import _SMALL_PAYLOAD, encode_text_frame

EXAMPLES = 200

EDGE_SIZES = (
    0,
    1,
    2,
    3,
    4,
    5,
    125,
    126,
    127,
    _SMALL_PAYLOAD - 1,
    _SMALL_PAYLOAD,
    _SMALL_PAYLOAD + 1,
    _SMALL_PAYLOAD + 2,
    _SMALL_PAYLOAD + 3,
    65535,
    65536,
    70_000,
    1 << 20,
)
"""Payload sizes in bytes: the length encodings' edges, the masking ways' edge, 1 MiB."""

texts = st.one_of(
    st.text(),
    st.text(st.characters(min_codepoint=0x10000)),  # non-BMP only: 4 bytes each
    st.text(min_size=100, max_size=3000),
)
masks = st.binary(min_size=4, max_size=4)


def sized_text(size: int, filler: str) -> str:
    """A text of exactly ``size`` UTF-8 bytes: ``filler`` repeated, ASCII padding at the end."""
    width = len(filler.encode())
    text = filler * (size // width)
    return text + "a" * (size - len(text.encode()))


def read_back(frame: bytes) -> list[object]:
    """Every event a fresh wsproto server connection reports for ``frame``."""
    server = Connection(ConnectionType.SERVER)
    server.receive_data(frame)
    return list(server.events())


def assert_reads_back(text: str, frame: bytes) -> None:
    """A wsproto server reads ``frame`` as one whole text message equal to ``text``."""
    events = read_back(frame)
    assert len(events) == 1, events[:3]
    (event,) = events
    assert isinstance(event, TextMessage)
    assert event.data == text
    assert event.message_finished
    assert event.frame_finished


def wsproto_frame(text: str, mask: bytes) -> bytes:
    """What wsproto's client connection sends for ``text`` when its masking key is ``mask``."""
    client = Connection(ConnectionType.CLIENT)

    def urandom(n: int) -> bytes:
        assert n == 4
        return mask

    # wsproto draws each frame's key with `os.urandom(4)` in `FrameProtocol._serialize_frame`.
    with mock.patch("wsproto.frame_protocol.os.urandom", urandom):
        return bytes(client.send(TextMessage(text)))


# --- (1) a wsproto server reads the frame back -------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(texts)
def test_server_reads_random_texts(text: str) -> None:
    assert_reads_back(text, encode_text_frame(text))


@pytest.mark.parametrize("size", EDGE_SIZES)
@pytest.mark.parametrize("filler", ["a", "é", "€", "😀"])
def test_server_reads_edge_sizes(size: int, filler: str) -> None:
    text = sized_text(size, filler)
    assert len(text.encode()) == size
    assert_reads_back(text, encode_text_frame(text))


# --- (2) byte for byte what wsproto writes --------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None)
@given(texts, masks)
def test_same_bytes_as_wsproto(text: str, mask: bytes) -> None:
    assert encode_text_frame(text, mask) == wsproto_frame(text, mask)


@pytest.mark.parametrize("size", EDGE_SIZES)
@pytest.mark.parametrize("mask", [b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x12\xa4\x7f\x80"])
def test_same_bytes_as_wsproto_edge_sizes(size: int, mask: bytes) -> None:
    text = sized_text(size, "😀")
    assert encode_text_frame(text, mask) == wsproto_frame(text, mask)


@pytest.mark.parametrize(
    ("size", "head"),
    [
        (0, b"\x81\x80"),
        (125, b"\x81\xfd"),
        (126, b"\x81\xfe" + struct.pack("!H", 126)),
        (65535, b"\x81\xfe" + struct.pack("!H", 65535)),
        (65536, b"\x81\xff" + struct.pack("!Q", 65536)),
    ],
)
def test_header_layout(size: int, head: bytes) -> None:
    """FIN + text, the mask bit, the shortest length, then the key (RFC 6455 §5.2)."""
    mask = b"\x01\x02\x03\x04"
    frame = encode_text_frame("a" * size, mask)
    assert frame[: len(head)] == head
    assert frame[len(head) : len(head) + 4] == mask
    assert len(frame) == len(head) + 4 + size
    masked = frame[len(head) + 4 :]
    assert bytes(b ^ mask[i % 4] for i, b in enumerate(masked)) == b"a" * size


def test_zero_mask_leaves_the_payload_as_is() -> None:
    text = sized_text(_SMALL_PAYLOAD * 2, "é")
    assert encode_text_frame(text, b"\0\0\0\0").endswith(text.encode())


# --- (3) a fresh key for every frame ----------------------------------------------------------


def test_fresh_mask_per_frame() -> None:
    frames = [encode_text_frame("the same text") for _ in range(20)]
    assert len(set(frames)) > 1
    keys = {frame[2:6] for frame in frames}
    assert len(keys) > 1
    for frame in frames:
        assert_reads_back("the same text", frame)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [b"", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05"])
def test_mask_must_be_4_bytes(mask: bytes) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        encode_text_frame("x", mask)


def test_lone_surrogate_raises_like_wsproto() -> None:
    with pytest.raises(UnicodeEncodeError):
        encode_text_frame("a\ud800b")
    with pytest.raises(UnicodeEncodeError):
        wsproto_frame("a\ud800b", b"\x01\x02\x03\x04")
