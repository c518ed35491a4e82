"""The frame codec: strict encoding, tolerant decoding (protocol §5, §9)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from utd_trio._errors import ErrorCode, UTDStreamError
from utd_trio._protocol._codec import (
    Dropped,
    DropReason,
    Frame,
    decode_frame,
    encode_frame,
    event_key,
)

from ._helpers import MAX, frame_of_bytes, frame_text, nested

# --- encode: strict ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "data", "ref", "expected"),
    [
        pytest.param("ping", None, "r1", '{"event":"ping","data":{},"ref":"r1"}', id="no-data"),
        pytest.param(
            "typing",
            {"is_typing": True},
            None,
            '{"event":"typing","data":{"is_typing":true}}',
            id="no-ref-no-key",
        ),
        pytest.param(
            "x",
            {"a": [1, 2.5, None]},
            "",
            '{"event":"x","data":{"a":[1,2.5,null]},"ref":""}',
            id="empty-ref-is-given",
        ),
        pytest.param("x", {}, None, '{"event":"x","data":{}}', id="empty-data"),
    ],
)
def test_encode_is_compact_and_ref_only_when_given(
    event: str, data: dict[str, Any] | None, ref: str | None, expected: str
) -> None:
    assert encode_frame(event, data, ref) == expected


def test_encode_does_not_alias_the_callers_data() -> None:
    data = {"a": 1}
    encode_frame("x", data)
    assert data == {"a": 1}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"x": object()}, id="object"),
        pytest.param({"x": {1, 2}}, id="set"),
        pytest.param({"x": b"bytes"}, id="bytes"),
        pytest.param({(1, 2): "tuple-key"}, id="tuple-key"),
        pytest.param({"x": math.nan}, id="nan"),
        pytest.param({"x": math.inf}, id="inf"),
        pytest.param({"x": [-math.inf]}, id="nested-neg-inf"),
        pytest.param(nested(10_000), id="deep-nesting"),
        pytest.param([1, 2], id="list-not-object"),
        pytest.param("text", id="str-not-object"),
        pytest.param([("a", 1)], id="pairs-not-object"),
    ],
)
def test_encode_refuses_unserialisable_data_as_invalid(data: Any) -> None:
    with pytest.raises(UTDStreamError) as info:
        encode_frame("message.send", data, "r1")
    assert info.value.code is ErrorCode.INVALID
    assert "message.send" in info.value.message


def test_encode_refuses_circular_data() -> None:
    data: dict[str, Any] = {}
    data["self"] = data
    with pytest.raises(UTDStreamError) as info:
        encode_frame("x", data)
    assert info.value.code is ErrorCode.INVALID


def _encoded_overhead() -> int:
    return len(encode_frame("e", {"x": ""}, "r"))


@pytest.mark.parametrize(
    ("extra", "refused"),
    [
        pytest.param(0, False, id="exactly-1MiB-sent"),
        pytest.param(1, True, id="one-byte-over-refused"),
        pytest.param(MAX, True, id="double-refused"),
    ],
)
def test_encode_refuses_frames_over_1_mib_locally_with_413(extra: int, refused: bool) -> None:
    filler = "a" * (MAX - _encoded_overhead() + extra)
    if refused:
        with pytest.raises(UTDStreamError) as info:
            encode_frame("e", {"x": filler}, "r")
        assert info.value.code is ErrorCode.INVALID
        assert info.value.status == 413
        assert "1 MiB" in info.value.message
    else:
        assert len(encode_frame("e", {"x": filler}, "r").encode()) == MAX


def test_encode_counts_escaped_multibyte_characters_against_the_limit() -> None:
    # "é" is escaped to \u00e9 (6 bytes), so 200 000 of them exceed 1 MiB.
    with pytest.raises(UTDStreamError) as info:
        encode_frame("e", {"x": "é" * 200_000})
    assert info.value.status == 413


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\ud800", id="lone-high-surrogate"),
        pytest.param("a\udfffb", id="lone-low-surrogate"),
        pytest.param("😀 é ü 中", id="non-ascii"),
        pytest.param('\x00\n"\\', id="controls-and-quotes"),
    ],
)
def test_encode_survives_any_string_and_is_utf8_safe(text: str) -> None:
    wire = encode_frame("e", {"text": text})
    wire.encode("utf-8")  # must not raise: the wire is ASCII
    assert wire.isascii()
    decoded = decode_frame(wire)
    assert isinstance(decoded, Frame)
    assert decoded.data == {"text": text}


# --- decode: tolerant ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(b'{"event":"x"}', DropReason.BINARY, id="bytes"),
        pytest.param(bytearray(b'{"event":"x"}'), DropReason.BINARY, id="bytearray"),
        pytest.param(b"", DropReason.BINARY, id="empty-bytes"),
        pytest.param("", DropReason.NOT_JSON, id="empty-text"),
        pytest.param("hello", DropReason.NOT_JSON, id="plain-text"),
        pytest.param('{"event":"x"', DropReason.NOT_JSON, id="truncated"),
        pytest.param("{'event':'x'}", DropReason.NOT_JSON, id="single-quotes"),
        pytest.param("[" * 200_000 + "]" * 200_000, DropReason.NOT_JSON, id="deep-array"),
        pytest.param('{"a":' * 100_000 + "1" + "}" * 100_000, DropReason.NOT_JSON, id="deep-obj"),
        pytest.param("1" * 5000, DropReason.NOT_JSON, id="int-over-digit-limit"),
        pytest.param("[1,2]", DropReason.NOT_OBJECT, id="array"),
        pytest.param("42", DropReason.NOT_OBJECT, id="number"),
        pytest.param('"event"', DropReason.NOT_OBJECT, id="string"),
        pytest.param("null", DropReason.NOT_OBJECT, id="null"),
        pytest.param("true", DropReason.NOT_OBJECT, id="bool"),
        pytest.param("{}", DropReason.NO_EVENT, id="empty-object"),
        pytest.param('{"data":{}}', DropReason.NO_EVENT, id="missing-event"),
        pytest.param('{"event":""}', DropReason.NO_EVENT, id="empty-event"),
        pytest.param('{"event":null}', DropReason.NO_EVENT, id="null-event"),
        pytest.param('{"event":42}', DropReason.NO_EVENT, id="number-event"),
        pytest.param('{"event":["x"]}', DropReason.NO_EVENT, id="list-event"),
        pytest.param('{"event":{"name":"x"}}', DropReason.NO_EVENT, id="object-event"),
    ],
)
def test_decode_drops_malformed_frames_with_a_reason(payload: Any, reason: DropReason) -> None:
    assert decode_frame(payload) == Dropped(reason)


@pytest.mark.parametrize(
    ("size", "char", "dropped"),
    [
        pytest.param(MAX, "a", False, id="ascii-exactly-1MiB"),
        pytest.param(MAX + 1, "a", True, id="ascii-1MiB-plus-1"),
        pytest.param(MAX, "é", False, id="2-byte-exactly-1MiB"),
        pytest.param(MAX + 1, "é", True, id="2-byte-1MiB-plus-1"),
        pytest.param(MAX, "中", False, id="3-byte-exactly-1MiB"),
        pytest.param(MAX + 1, "中", True, id="3-byte-1MiB-plus-1"),
        pytest.param(MAX, "😀", False, id="4-byte-exactly-1MiB"),
        pytest.param(MAX + 1, "😀", True, id="4-byte-1MiB-plus-1"),
        pytest.param(MAX + 2, "😀", True, id="4-byte-1MiB-plus-2"),
    ],
)
def test_decode_counts_utf8_bytes_not_characters(size: int, char: str, dropped: bool) -> None:
    text = frame_of_bytes(size, char)
    if char != "a":
        assert len(text) <= MAX  # by characters every multi-byte one would pass
    result = decode_frame(text)
    if dropped:
        assert result == Dropped(DropReason.OVERSIZE)
    else:
        assert isinstance(result, Frame)
        assert result.event == "e"


def test_decode_drops_oversize_before_parsing() -> None:
    # Not JSON at all, but the size check comes first.
    assert decode_frame("x" * (MAX + 1)) == Dropped(DropReason.OVERSIZE)


@pytest.mark.parametrize(
    ("data_json", "expected"),
    [
        pytest.param('{"a":1}', {"a": 1}, id="object"),
        pytest.param('"{\\"a\\":1}"', {"a": 1}, id="string-holding-object"),
        pytest.param('" {\\"a\\": [1]} "', {"a": [1]}, id="string-holding-object-spaces"),
        pytest.param('"[1,2]"', {}, id="string-holding-array"),
        pytest.param('"42"', {}, id="string-holding-number"),
        pytest.param('"not json"', {}, id="string-not-json"),
        pytest.param('""', {}, id="empty-string"),
        pytest.param('"' + "[" * 50_000 + '"', {}, id="string-deep-nesting"),
        pytest.param("[1,2]", {}, id="array"),
        pytest.param("7", {}, id="number"),
        pytest.param("true", {}, id="bool"),
        pytest.param("null", {}, id="null"),
        pytest.param(None, {}, id="missing"),
    ],
)
def test_decode_data_is_always_an_object(data_json: str | None, expected: dict[str, Any]) -> None:
    body = '"event":"x"' + (f',"data":{data_json}' if data_json is not None else "")
    result = decode_frame("{" + body + "}")
    assert isinstance(result, Frame)
    assert result.data == expected


@pytest.mark.parametrize(
    ("ref_json", "expected"),
    [
        pytest.param('"r1"', "r1", id="string"),
        pytest.param('""', "", id="empty-string"),
        pytest.param("17", "17", id="int-to-str"),
        pytest.param("-3", "-3", id="negative-int"),
        pytest.param("1.5", None, id="float-dropped"),
        pytest.param("true", None, id="bool-dropped"),
        pytest.param("null", None, id="null"),
        pytest.param('["r"]', None, id="list-dropped"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_decode_ref(ref_json: str | None, expected: str | None) -> None:
    body = '"event":"ack","data":{}' + (f',"ref":{ref_json}' if ref_json is not None else "")
    result = decode_frame("{" + body + "}")
    assert isinstance(result, Frame)
    assert result.ref == expected


def test_decode_ignores_unknown_envelope_fields() -> None:
    result = decode_frame('{"event":"pong","ref":"r","extra":{"x":1},"channel":"c"}')
    assert result == Frame("pong", {}, "r")


def test_decode_keeps_lone_surrogate_escapes() -> None:
    result = decode_frame('{"event":"x","data":{"t":"\\ud800"}}')
    assert isinstance(result, Frame)
    assert result.data == {"t": "\ud800"}


def test_decode_accepts_exactly_what_encode_produces() -> None:
    wire = encode_frame("call.invite", {"to": "bob", "type": "video", "metadata": {"k": [1]}}, "r9")
    assert decode_frame(wire) == Frame(
        "call.invite", {"to": "bob", "type": "video", "metadata": {"k": [1]}}, "r9"
    )


def test_frame_text_helper_is_unescaped() -> None:
    # Guard for the size tests above: the helper must send real UTF-8, not \u escapes.
    assert "é" in frame_text(filler="é")


# --- event names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("call_answered_elsewhere", "call.answered_elsewhere", id="mixed"),
        pytest.param("call.answered.elsewhere", "call_answered_elsewhere", id="all-dots"),
        pytest.param("connection_established", "connection.established", id="hello"),
        pytest.param("message_new", "message.new", id="message"),
        pytest.param("typing", "typing", id="plain"),
    ],
)
def test_event_key_maps_dot_and_underscore_to_one_character(a: str, b: str) -> None:
    assert event_key(a) == event_key(b)
    assert event_key(event_key(a)) == event_key(a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("call.ended", "call.end", id="prefix"),
        pytest.param("calls.ended", "call.ended", id="extra-letter"),
        pytest.param("call-ended", "call.ended", id="dash-is-not-a-separator"),
    ],
)
def test_event_key_keeps_different_names_apart(a: str, b: str) -> None:
    assert event_key(a) != event_key(b)


def test_decoded_frame_carries_the_matching_key() -> None:
    a = decode_frame('{"event":"call_answered_elsewhere","data":{"call_id":"c"}}')
    b = decode_frame('{"event":"call.answered_elsewhere","data":{"call_id":"c"}}')
    assert isinstance(a, Frame)
    assert a == b
    assert a.event == event_key("call.answered_elsewhere")
