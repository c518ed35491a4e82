"""Tolerant scalar parsing (protocol §2, §9): anything unparseable is None, never an error."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from utd_trio._protocol._parse import (
    camel,
    get_field,
    parse_bool,
    parse_float,
    parse_int,
    parse_list,
    parse_object,
    parse_str,
    parse_time,
)

# Values no scalar parser accepts: (value, expected None).
JUNK = [
    pytest.param(None, None, id="None"),
    pytest.param("", None, id="empty"),
    pytest.param("   ", None, id="blank"),
    pytest.param("abc", None, id="word"),
    pytest.param([], None, id="empty-list"),
    pytest.param([1], None, id="list"),
    pytest.param({}, None, id="empty-dict"),
    pytest.param({"value": 1}, None, id="dict"),
    pytest.param(object(), None, id="object"),
]

# --- parse_bool --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(True, True, id="True"),
        pytest.param(False, False, id="False"),
        pytest.param("true", True, id="'true'"),
        pytest.param("TRUE", True, id="'TRUE'"),
        pytest.param(" True ", True, id="'True'-spaced"),
        pytest.param("1", True, id="'1'"),
        pytest.param(1, True, id="1"),
        pytest.param(1.0, True, id="1.0"),
        pytest.param("false", False, id="'false'"),
        pytest.param("False", False, id="'False'"),
        pytest.param("0", False, id="'0'"),
        pytest.param(0, False, id="0"),
        pytest.param(0.0, False, id="0.0"),
        pytest.param(2, None, id="2"),
        pytest.param(-1, None, id="-1"),
        pytest.param(0.5, None, id="0.5"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param(math.inf, None, id="inf"),
        pytest.param("maybe", None, id="'maybe'"),
        pytest.param("truthy", None, id="'truthy'"),
        *JUNK,
    ],
)
def test_parse_bool(value: object, expected: bool | None) -> None:
    assert parse_bool(value) is expected


# --- parse_int ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(30, 30, id="30"),
        pytest.param("30", 30, id="'30'"),
        pytest.param(" 30 ", 30, id="'30'-spaced"),
        pytest.param(30.0, 30, id="30.0"),
        pytest.param("30.0", 30, id="'30.0'"),
        pytest.param("-7", -7, id="'-7'"),
        pytest.param(0, 0, id="0"),
        pytest.param("1e3", 1000, id="'1e3'"),
        pytest.param(10**30, 10**30, id="big-int"),
        pytest.param(30.5, None, id="30.5"),
        pytest.param("30.5", None, id="'30.5'"),
        pytest.param(True, None, id="True-is-not-1"),
        pytest.param(False, None, id="False-is-not-0"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param(math.inf, None, id="inf"),
        pytest.param(-math.inf, None, id="-inf"),
        pytest.param("nan", None, id="'nan'"),
        pytest.param("inf", None, id="'inf'"),
        pytest.param("1e400", None, id="'1e400'-overflows"),
        pytest.param("9" * 5000, None, id="digit-limit-string"),
        pytest.param("30 days", None, id="'30 days'"),
        *JUNK,
    ],
)
def test_parse_int(value: object, expected: int | None) -> None:
    result = parse_int(value)
    assert result == expected
    assert result is None or type(result) is int


# --- parse_float -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(3600, 3600.0, id="int"),
        pytest.param(1.5, 1.5, id="float"),
        pytest.param("1.5", 1.5, id="'1.5'"),
        pytest.param(" 2 ", 2.0, id="'2'-spaced"),
        pytest.param(-0.25, -0.25, id="negative"),
        pytest.param(True, None, id="True"),
        pytest.param(False, None, id="False"),
        pytest.param(math.nan, None, id="nan"),
        pytest.param(math.inf, None, id="inf"),
        pytest.param("NaN", None, id="'NaN'"),
        pytest.param("-Infinity", None, id="'-Infinity'"),
        pytest.param("1e400", None, id="'1e400'"),
        pytest.param(10**400, None, id="int-too-big-for-float"),
        pytest.param("soon", None, id="'soon'"),
        *JUNK,
    ],
)
def test_parse_float(value: object, expected: float | None) -> None:
    result = parse_float(value)
    assert result == expected
    assert result is None or type(result) is float


# --- parse_str ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("alice", "alice", id="str"),
        pytest.param("", "", id="empty-kept"),
        pytest.param(42, "42", id="int"),
        pytest.param(1.5, "1.5", id="float"),
        pytest.param(True, None, id="bool"),
        pytest.param(None, None, id="None"),
        pytest.param(["a"], None, id="list"),
        pytest.param({"a": 1}, None, id="dict"),
        pytest.param(10**5000, None, id="int-beyond-digit-limit"),
    ],
)
def test_parse_str(value: object, expected: str | None) -> None:
    assert parse_str(value) == expected


# --- parse_time --------------------------------------------------------------------------------

_T = datetime(2026, 11, 24, 9, 24, 12, 508000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-11-24T09:24:12.508Z", _T, id="Z-millis"),
        pytest.param("2026-11-24T09:24:12.508z", _T, id="lowercase-z"),
        pytest.param(" 2026-11-24T09:24:12.508Z ", _T, id="spaced"),
        pytest.param("2026-11-24T09:24:12.508+00:00", _T, id="+00:00"),
        pytest.param("2026-11-24T10:24:12.508+01:00", _T, id="+01:00"),
        pytest.param("2026-11-24T04:24:12.508-05:00", _T, id="-05:00"),
        pytest.param("2026-11-24T09:24:12.508", _T, id="naive-means-UTC"),
        pytest.param("2026-11-24T09:24:12Z", _T.replace(microsecond=0), id="no-fraction"),
        pytest.param("2026-11-24T09:24:12.508123Z", _T.replace(microsecond=508123), id="micros"),
        pytest.param("2026-11-24", datetime(2026, 11, 24, tzinfo=UTC), id="date-only"),
        pytest.param("not a time", None, id="junk"),
        pytest.param("2026-13-01T00:00:00Z", None, id="month-13"),
        pytest.param("2026-11-24T25:00:00Z", None, id="hour-25"),
        pytest.param(1_700_000_000, None, id="epoch-number"),
        pytest.param(1.5, None, id="float"),
        pytest.param(True, None, id="bool"),
        *JUNK,
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    result = parse_time(value)
    assert result == expected
    if result is not None:
        assert result.tzinfo is not None  # always aware


def test_parse_time_keeps_the_offset_it_was_given() -> None:
    result = parse_time("2026-11-24T10:24:12+01:00")
    assert result is not None
    assert result.utcoffset() == timedelta(hours=1)
    assert result.astimezone(UTC) == datetime(2026, 11, 24, 9, 24, 12, tzinfo=UTC)


def test_parse_time_naive_is_tagged_utc_not_local() -> None:
    result = parse_time("2026-11-24T09:24:12")
    assert result is not None
    assert result.utcoffset() == timedelta(0)
    assert result.hour == 9  # not shifted by the machine's local zone


# --- containers and field names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param({"a": 1}, {"a": 1}, id="dict"),
        pytest.param({}, {}, id="empty-dict"),
        pytest.param([("a", 1)], None, id="pairs"),
        pytest.param("{}", None, id="json-text"),
        pytest.param(None, None, id="None"),
        pytest.param(3, None, id="number"),
    ],
)
def test_parse_object(value: object, expected: dict[str, Any] | None) -> None:
    assert parse_object(value) == expected


def test_parse_object_accepts_any_mapping_with_str_keys() -> None:
    from types import MappingProxyType

    assert parse_object(MappingProxyType({1: "a"})) == {"1": "a"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param([1, "a"], [1, "a"], id="list"),
        pytest.param((1, 2), [1, 2], id="tuple"),
        pytest.param([], [], id="empty"),
        pytest.param("ab", [], id="str-is-not-a-list"),
        pytest.param({"a": 1}, [], id="dict"),
        pytest.param(None, [], id="None"),
    ],
)
def test_parse_list(value: object, expected: list[Any]) -> None:
    assert parse_list(value) == expected


@pytest.mark.parametrize(
    ("snake", "expected"),
    [
        pytest.param("max_group_members", "maxGroupMembers", id="three-words"),
        pytest.param("messaging_enabled", "messagingEnabled", id="flag"),
        pytest.param("limits", "limits", id="one-word"),
        pytest.param("up_to_seq", "upToSeq", id="short-words"),
    ],
)
def test_camel(snake: str, expected: str) -> None:
    assert camel(snake) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({"user_id": "a"}, "a", id="snake"),
        pytest.param({"userId": "b"}, "b", id="camel"),
        pytest.param({"user_id": "a", "userId": "b"}, "a", id="snake-wins"),
        pytest.param({"user_id": None, "userId": "b"}, None, id="explicit-snake-null-wins"),
        pytest.param({"UserId": "c"}, None, id="pascal-not-accepted"),
        pytest.param({}, None, id="missing"),
    ],
)
def test_get_field(obj: dict[str, Any], expected: object) -> None:
    assert get_field(obj, "user_id") == expected
