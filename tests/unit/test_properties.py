"""Property tests: the tolerant side never raises, the strict side round-trips (protocol §9)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from utd_trio._errors import UTDStreamError
from utd_trio._events import Event
from utd_trio._models import Capabilities, PlanLimits
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._classify import (
    classify,
    classify_body,
    classify_error_frame,
    parse_retry_after,
)
from utd_trio._protocol._codec import (
    Dropped,
    DropReason,
    Frame,
    decode_frame,
    encode_frame,
    event_key,
)
from utd_trio._protocol._decode_events import DECODERS, decode_event
from utd_trio._protocol._parse import (
    WireFormatError,
    parse_bool,
    parse_capabilities,
    parse_float,
    parse_int,
    parse_limits,
    parse_session,
    parse_str,
    parse_time,
)

FAST = settings(max_examples=200, deadline=None)

# Every code point, lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats()  # NaN and ±inf included
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=20,
)
# Strictly encodable JSON: no NaN/inf (the encoder refuses them), no huge ints.
clean_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
clean_values = st.recursive(
    clean_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)

MINT_KEYS = [
    "signaling_enabled",
    "signalingEnabled",
    "messaging_enabled",
    "messagingEnabled",
    "limits",
    "user_token",
    "userToken",
    "ws_url",
    "wsUrl",
    "expires_in",
    "expiresIn",
]
LIMIT_KEYS = [*v.LIMIT_FIELDS, "historyDays", "maxGroupMembers", "maxFriends", "maxChatrooms"]


def _objects(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | any_text, json_values, max_size=8)


# --- decode_frame never raises ----------------------------------------------------------------


@FAST
@given(st.binary(max_size=200))
def test_decode_frame_binary_is_always_dropped(payload: bytes) -> None:
    assert decode_frame(payload) == Dropped(DropReason.BINARY)


@FAST
@given(any_text)
def test_decode_frame_never_raises_on_any_text(payload: str) -> None:
    assert isinstance(decode_frame(payload), Frame | Dropped)


@FAST
@given(json_values)
def test_decode_frame_never_raises_on_any_json_value(value: Any) -> None:
    result = decode_frame(json.dumps(value))
    assert isinstance(result, Frame | Dropped)
    if not isinstance(value, dict):
        assert result == Dropped(DropReason.NOT_OBJECT)


@FAST
@given(event=json_values | any_text, data=json_values, ref=json_values, extra=json_values)
def test_decode_frame_envelope_invariants(event: Any, data: Any, ref: Any, extra: Any) -> None:
    result = decode_frame(json.dumps({"event": event, "data": data, "ref": ref, "x": extra}))
    if isinstance(event, str) and event:
        assert isinstance(result, Frame)
        assert result.event == event_key(event)
        assert isinstance(result.data, dict)
        assert result.ref is None or isinstance(result.ref, str)
        if isinstance(data, dict):  # compared as JSON: NaN is not equal to itself
            assert json.dumps(result.data) == json.dumps(data)
    else:
        assert result == Dropped(DropReason.NO_EVENT)


# --- encode → decode round trip ----------------------------------------------------------------


@FAST
@given(
    event=st.text(min_size=1, max_size=30),
    data=st.dictionaries(st.text(max_size=10), clean_values, max_size=6),
    ref=st.none() | st.text(max_size=20),
)
def test_encode_decode_round_trip(event: str, data: dict[str, Any], ref: str | None) -> None:
    wire = encode_frame(event, data, ref)
    assert wire.isascii()
    assert json.loads(wire).keys() == (
        {"event", "data", "ref"} if ref is not None else {"event", "data"}
    )
    assert decode_frame(wire) == Frame(event_key(event), data, ref)


@FAST
@given(data=st.dictionaries(any_text, json_values, max_size=6))
def test_encode_either_succeeds_or_raises_utdstreamerror(data: dict[str, Any]) -> None:
    try:
        wire = encode_frame("x", data)
    except UTDStreamError:
        return
    assert isinstance(decode_frame(wire), Frame)


# --- tolerant parsing never raises --------------------------------------------------------------


@FAST
@given(json_values)
def test_scalar_parsers_never_raise(value: Any) -> None:
    assert parse_bool(value) in (True, False, None)
    number = parse_int(value)
    assert number is None or (type(number) is int)
    real = parse_float(value)
    assert real is None or type(real) is float
    text = parse_str(value)
    assert text is None or isinstance(text, str)
    stamp = parse_time(value)
    assert stamp is None or (isinstance(stamp, datetime) and stamp.tzinfo is not None)


@FAST
@given(any_text)
def test_scalar_parsers_never_raise_on_any_string(value: str) -> None:
    parse_bool(value)
    parse_int(value)
    parse_float(value)
    parse_time(value)
    parse_retry_after(value)


@FAST
@given(_objects(MINT_KEYS))
def test_parse_capabilities_never_raises(obj: dict[str, Any]) -> None:
    caps = parse_capabilities(obj)
    assert isinstance(caps, Capabilities)
    assert caps.signaling_enabled in (True, False, None)
    assert caps.chat_enabled in (True, False, None)


@FAST
@given(_objects(LIMIT_KEYS) | json_values)
def test_parse_limits_never_raises(value: Any) -> None:
    limits = parse_limits(value)
    assert limits is None or isinstance(limits, PlanLimits)
    if limits is not None:
        for n in (
            limits.history_days,
            limits.max_group_members,
            limits.max_friends,
            limits.max_chatrooms,
        ):
            assert n is None or n >= 0


@FAST
@given(_objects(MINT_KEYS))
def test_parse_session_raises_only_wire_format_error(obj: dict[str, Any]) -> None:
    try:
        session = parse_session(obj)
    except WireFormatError:
        return
    assert session.user_token
    assert session.ws_url
    assert "user_token='***'" in repr(session)


@FAST
@given(name=st.sampled_from(sorted(DECODERS)), data=st.dictionaries(any_text, json_values))
def test_decode_event_raises_only_wire_format_error(name: str, data: dict[str, Any]) -> None:
    try:
        event = decode_event(name, data)
    except WireFormatError:
        return
    assert isinstance(event, Event)


# --- classification never raises -------------------------------------------------------------


@FAST
@given(
    status=st.none() | st.integers(min_value=-(10**6), max_value=10**6),
    message=st.none() | any_text,
    code=st.none() | any_text,
    retry_after=st.none() | st.floats(allow_nan=False, min_value=0),
)
def test_classify_never_raises(
    status: int | None, message: str | None, code: str | None, retry_after: float | None
) -> None:
    error = classify(status, message, code, retry_after=retry_after)
    assert isinstance(error, UTDStreamError)
    assert error.status == status
    assert error.retry_after == retry_after
    assert error.message
    str(error)
    repr(error)


@FAST
@given(status=st.integers(min_value=100, max_value=599), body=json_values)
def test_classify_body_never_raises(status: int, body: Any) -> None:
    assert classify_body(status, body).status == status


@FAST
@given(_objects(["status", "code", "message", "retry_after"]))
def test_classify_error_frame_never_raises(data: dict[str, Any]) -> None:
    assert isinstance(classify_error_frame(data), UTDStreamError)
