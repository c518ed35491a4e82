"""msgspec decoding of the hot events against the tolerant path: the same frame, the same event.

`decode_inbound` may only ever answer what `decode_frame` + `decode_event` answer; on any
mismatch it must fall back. Frames are generated around the canonical shape: right and wrong
types, numbers as strings, empty and null values, camelCase spellings, dialect event names,
unknown fields, nested metadata and JSON that ``json.loads`` refuses.

``UTD_HOT_EXAMPLES=5000 uv run pytest tests/unit/test_hot_events.py`` runs a long one.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utd_trio._events import MessageReceived, PresenceChanged, ReceiptReceived, TypingChanged
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._codec import Dropped, Frame, decode_frame
from utd_trio._protocol._decode_events import decode_event, frame_event
from utd_trio._protocol._hot_events import decode_inbound
from utd_trio._protocol._parse import WireFormatError

EXAMPLES = int(os.environ.get("UTD_HOT_EXAMPLES", "300"))

FIELDS = {
    v.EV_MESSAGE_NEW: ["id", "conversation_id", "seq", "from", "created_at", "client_id", "to",
                       "group_id", "text", "attachment", "metadata"],
    v.EV_PRESENCE_UPDATE: ["user_id", "online", "last_seen_at"],
    v.EV_TYPING: ["conversation_id", "from", "is_typing"],
    v.EV_RECEIPT: ["conversation_id", "user_id", "up_to_seq", "status", "at"],
    v.EV_PONG: [],
    v.EV_ACK: ["id", "conversation_id", "seq", "from", "text", "metadata"],  # any object
}  # fmt: skip
CAMEL = ["conversationId", "clientId", "groupId", "createdAt", "userId", "lastSeenAt",
         "isTyping", "upToSeq", "contentType"]  # fmt: skip

scalars = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "x", "42", "4.0", "true", "no", "2025-01-02T03:04:05Z", "2025-01-02"]),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, 7, 1.0, 2.5, -0.0, True, False, None]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_ATTACHMENT_REQUIRED: dict[str, st.SearchStrategy[Any]] = {
    "url": st.sampled_from(["https://x/y", 5, None])
}
_ATTACHMENT_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    name: scalars for name in ["key", "content_type", "contentType", "size", "name"]
}
attachments = st.one_of(
    st.none(), st.fixed_dictionaries(_ATTACHMENT_REQUIRED, optional=_ATTACHMENT_OPTIONAL)
)


def good(field: str, clean: bool) -> st.SearchStrategy[Any]:
    """A canonical value for ``field``, or (unless ``clean``) sometimes anything."""
    canonical: dict[str, st.SearchStrategy[Any]] = {
        "seq": st.integers(0, 2**40),
        "up_to_seq": st.integers(0, 2**40),
        "online": st.booleans(),
        "is_typing": st.booleans(),
        "attachment": attachments,
        "metadata": st.dictionaries(st.text(max_size=4), json_values, max_size=3),
        "created_at": st.sampled_from(["2025-01-02T03:04:05.123Z", "2025-01-02T03:04:05+02:00"]),
    }
    right = canonical.get(field, st.text(min_size=1, max_size=8))
    return right if clean else st.one_of(right, json_values)


@st.composite
def frames(draw: st.DrawFn) -> str:
    """The text of a server frame around a hot event's canonical shape."""
    name = draw(st.sampled_from(sorted(FIELDS)))
    clean = draw(st.booleans())  # the engine's shape (plus unknown fields), or anything goes
    data: dict[str, Any] = {}
    for field in FIELDS[name]:
        if clean or draw(st.integers(0, 5)):
            data[field] = draw(good(field, clean))
    spellings = ["extra", "event"] if clean else [*CAMEL, "extra", "event"]
    for extra in draw(st.lists(st.sampled_from(spellings), max_size=2)):
        data[extra] = draw(json_values)
    event = name if clean else draw(st.sampled_from([name, name.replace(".", "_"), "call.ringing"]))
    envelope: dict[str, Any] = {v.FRAME_EVENT: event, v.FRAME_DATA: data}
    ref = draw(st.sampled_from(["absent", None, "r1"] if clean else [7, True, "r1"]))
    if ref != "absent":
        envelope[v.FRAME_REF] = ref
    if not clean and draw(st.integers(0, 9)) == 0:
        envelope[v.FRAME_DATA] = json.dumps(data)  # data as a JSON string (tolerated)
    text = json.dumps(envelope, ensure_ascii=draw(st.booleans()))
    tail = draw(
        st.sampled_from(
            [
                "",
                "",
                "",
                "x",
                " ",
                ',"n":NaN',
                ',"d":"\\ud800"',
                ',"k":1' + "1" * 4400,
                ',"deep":' + "[" * 300 + "]" * 300,
            ]
        )
    )
    if tail.startswith(","):
        return text[:-1] + tail + "}"
    return text + tail  # fmt: skip


def tolerant(text: str) -> tuple[Frame | Dropped, object]:
    """What the tolerant path makes of ``text``: the frame, and the event or the error."""
    frame = decode_frame(text)
    if isinstance(frame, Dropped):
        return frame, None
    try:
        return frame, decode_event(frame.event, frame.data)
    except WireFormatError:
        return frame, WireFormatError


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=frames())
def test_msgspec_and_the_tolerant_parser_agree(text: str) -> None:
    expected_frame, expected_event = tolerant(text)
    got = decode_inbound(text)
    assert got == expected_frame
    if isinstance(got, Frame):
        assert (got.event, got.data, got.ref) == (
            expected_frame.event,  # type: ignore[union-attr]
            expected_frame.data,  # type: ignore[union-attr]
            expected_frame.ref,  # type: ignore[union-attr]
        )
        if got.record is not None:
            assert got.record == expected_event
            assert repr(got.record) == repr(expected_event)
        try:
            assert frame_event(got) == expected_event
        except WireFormatError:
            assert expected_event is WireFormatError


CANONICAL = [
    (
        '{"event":"message.new","data":{"id":"m1","conversation_id":"dm:a:b","seq":3,'
        '"from":"b","to":"a","text":"hi","metadata":{"k":[1,2.5,null]},'
        '"created_at":"2025-01-02T03:04:05Z","attachment":{"url":"https://f/1","size":9}}}',
        MessageReceived,
    ),
    ('{"event":"presence.update","data":{"user_id":"u","online":true}}', PresenceChanged),
    (
        '{"event":"typing","data":{"conversation_id":"c","from":"u","is_typing":true}}',
        TypingChanged,
    ),
    (
        '{"event":"receipt","data":{"conversation_id":"c","user_id":"u","up_to_seq":4,'
        '"status":"read","at":"2025-01-02T03:04:05Z"},"ref":"r9"}',
        ReceiptReceived,
    ),
]


@pytest.mark.parametrize(("text", "kind"), CANONICAL)
def test_the_canonical_shape_takes_the_fast_path(text: str, kind: type[object]) -> None:
    frame = decode_inbound(text)
    assert isinstance(frame, Frame)
    assert isinstance(frame.record, kind)
    expected_frame, expected_event = tolerant(text)
    assert frame == expected_frame
    assert frame.record == expected_event
    assert hash(frame.record) == hash(expected_event) if kind is not MessageReceived else True


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"message.new","data":{"id":"m","conversation_id":"c","seq":"3"}}',
        '{"event":"message.new","data":{"id":"m","conversation_id":"c","seq":1,"clientId":"x"}}',
        '{"event":"message_new","data":{"id":"m","conversation_id":"c","seq":1}}',
        '{"event":"receipt","data":{"conversation_id":"c","user_id":"u","up_to_seq":1,"status":""}}',
        '{"event":"presence.update","data":{"userId":"u","online":1}}',
    ],
)
def test_dialects_fall_back_to_the_tolerant_parser(text: str) -> None:
    frame = decode_inbound(text)
    assert isinstance(frame, Frame)
    assert frame.record is None
    assert frame_event(frame) == tolerant(text)[1]


def test_a_fast_frame_is_frozen_and_decodes_its_data_on_demand() -> None:
    frame = decode_inbound(CANONICAL[1][0])
    assert isinstance(frame, Frame)
    assert frame.data == {"user_id": "u", "online": True}
    assert (
        repr(frame)
        == "Frame(event='presence.update', data={'user_id': 'u', 'online': True}, ref=None)"
    )
    with pytest.raises(AttributeError):
        frame.event = "x"
    match frame:
        case Frame("presence.update", {"user_id": user}, None):
            assert user == "u"
        case _:
            pytest.fail("no match")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "fast"),
    [
        ('{"event":"pong","ref":"p7"}', True),
        ('{"event":"pong","data":{"t":1},"ref":"p7"}', True),
        ('{"event":"pong","ref":7}', False),  # a number for a ref: the tolerant path's str
    ],
)
def test_a_pong_is_read_without_the_tolerant_parser(text: str, fast: bool) -> None:
    # An idle session receives little but pongs: the fast path reads the ref and nothing else.
    frame = decode_inbound(text)
    assert isinstance(frame, Frame)
    assert frame.record is None
    assert (frame._data is None) is fast  # pyright: ignore[reportPrivateUsage]
    expected = tolerant(text)[0]
    assert (frame.event, frame.ref, frame.data) == (
        expected.event,  # type: ignore[union-attr]
        expected.ref,  # type: ignore[union-attr]
        expected.data,  # type: ignore[union-attr]
    )


def test_texts_too_short_to_screen_are_short_for_every_digit_limit() -> None:
    # `decode_inbound` skips the screen for texts of at most 512 characters: they cannot nest
    # 256 deep, and Python refuses a digit limit under 640, so no run of digits in them can
    # pass one. If a Python ever allows a lower limit, this fails and the bound must move.
    import sys

    from utd_trio._protocol._hot_events import _SHORT  # pyright: ignore[reportPrivateUsage]

    before = sys.get_int_max_str_digits()
    try:
        with pytest.raises(ValueError, match="maxdigits"):
            sys.set_int_max_str_digits(_SHORT)
        sys.set_int_max_str_digits(640)  # the lowest limit allowed
        digits = "9" * _SHORT
        frame = decode_inbound('{"event":"x","data":{"n":' + digits[: _SHORT - 30] + "}}")
        assert isinstance(frame, Frame)
        assert frame.data == {"n": int(digits[: _SHORT - 30])}
    finally:
        sys.set_int_max_str_digits(before)
