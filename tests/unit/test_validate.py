"""Local validation of user input (protocol §2 identity and column caps, §10 metadata size)."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utd_trio._protocol._urls import is_loopback
from utd_trio._protocol._validate import (
    ArgumentTypeError,
    _surely_small,  # pyright: ignore[reportPrivateUsage]
    check_bool,
    check_identity,
    check_metadata,
    check_mint_fields,
    check_no_surrogates,
    check_non_empty,
    check_seconds,
    check_size,
    check_text,
    shown,
)

from ._helpers import nested

# --- identity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("alice", id="word"),
        pytest.param("a", id="one-char"),
        pytest.param("x" * 128, id="128-chars"),
        pytest.param("Alice_B.c@d-9", id="every-class"),
        pytest.param("user@example.com", id="email"),
        pytest.param("0", id="digit"),
    ],
)
def test_check_identity_accepts(value: str) -> None:
    assert check_identity(value) == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 129, id="129-chars"),
        pytest.param("al ice", id="space"),
        pytest.param("alice\n", id="trailing-newline"),
        pytest.param("bob:1", id="colon"),
        pytest.param("a/b", id="slash"),
        pytest.param("josé", id="non-ascii"),
        pytest.param("ａ", id="fullwidth"),
        pytest.param(None, id="None"),
        pytest.param(42, id="int"),
        pytest.param(["alice"], id="list"),
    ],
)
def test_check_identity_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="callee"):
        check_identity(value, "callee")


def test_check_identity_default_field_name() -> None:
    with pytest.raises(ValueError, match="user_id"):
        check_identity("")


@pytest.mark.parametrize(
    "value",
    [pytest.param("", id="empty"), pytest.param("  ", id="blank"), pytest.param(1, id="int")],
)
def test_check_non_empty(value: object) -> None:
    with pytest.raises(ValueError, match="name"):
        check_non_empty(value, "name")
    assert check_non_empty(" x ", "name") == " x "


# --- mint fields -------------------------------------------------------------------------------

CAPS = {"name": 100, "os": 50, "os_version": 20, "device_model": 100, "app_version": 20}


@pytest.mark.parametrize(("field", "cap"), [pytest.param(f, c, id=f) for f, c in CAPS.items()])
def test_check_mint_fields_caps(field: str, cap: int) -> None:
    assert check_mint_fields({field: "x" * cap}) == {field: "x" * cap}
    assert check_mint_fields({field: "é" * cap}) == {field: "é" * cap}  # characters, not bytes
    with pytest.raises(ValueError, match=f"{field} must be a string of at most {cap}"):
        check_mint_fields({field: "x" * (cap + 1)})


def test_check_mint_fields_drops_none_and_keeps_the_rest() -> None:
    fields = {"name": "Alice", "os": None, "os_version": "6.1", "device_model": None}
    assert check_mint_fields(fields) == {"name": "Alice", "os_version": "6.1"}


def test_check_mint_fields_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="app_version"):
        check_mint_fields({"app_version": 1.0})  # type: ignore[dict-item]


# --- metadata ----------------------------------------------------------------------------------

LIMIT = 16 * 1024


def _metadata_of_size(size: int) -> dict[str, str]:
    overhead = len('{"k":""}')
    return {"k": "a" * (size - overhead)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="None"),
        pytest.param({}, {}, id="empty"),
        pytest.param({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, id="nested"),
        pytest.param(OrderedDict(a=1), {"a": 1}, id="any-mapping"),
        pytest.param(_metadata_of_size(LIMIT), _metadata_of_size(LIMIT), id="exactly-16KiB"),
    ],
)
def test_check_metadata_accepts(value: Any, expected: dict[str, Any] | None) -> None:
    result = check_metadata(value)
    assert result == expected
    assert result is None or type(result) is dict


def test_check_metadata_returns_a_copy() -> None:
    value = {"a": 1}
    result = check_metadata(value)
    assert result is not value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        pytest.param([1, 2], "JSON object", id="list"),
        pytest.param("{}", "JSON object", id="json-text"),
        pytest.param(42, "JSON object", id="number"),
        pytest.param(_metadata_of_size(LIMIT + 1), "16 KiB", id="16KiB-plus-1"),
        pytest.param({"k": object()}, "JSON-serialisable", id="object"),
        pytest.param({"k": {1, 2}}, "JSON-serialisable", id="set"),
        pytest.param({"k": math.nan}, "JSON-serialisable", id="nan"),
        pytest.param({"k": math.inf}, "JSON-serialisable", id="inf"),
        pytest.param({(1,): "v"}, "JSON-serialisable", id="tuple-key"),
        pytest.param(nested(10_000), "JSON-serialisable", id="deep-nesting"),
    ],
)
def test_check_metadata_refuses_and_names_the_field(value: Any, why: str) -> None:
    with pytest.raises(ValueError, match="call metadata") as info:
        check_metadata(value, "call metadata")
    assert why in str(info.value)


# Flat dicts around the shortcut's edges: ASCII with control characters (escaped 6-fold),
# other text, ints around 10**18, floats, up to 70 entries, strings up to the limit.
_FLAT_TEXT = st.text(alphabet=st.sampled_from('a\x01"\\é'), max_size=40) | st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "\x1f", "é"]), st.integers(0, 3000)
)
_FLAT = st.dictionaries(
    st.text(alphabet=st.sampled_from("k\x02é"), max_size=6) | _FLAT_TEXT,
    _FLAT_TEXT
    | st.integers(-(10**18) - 2, 10**18 + 2)
    | st.sampled_from([True, False, None, 1.5])
    | st.integers(),
    max_size=70,
)


def _size_or_refusal(value: dict[str, Any]) -> int | None:
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return len(text.encode())
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError):
        return None


@settings(max_examples=300, deadline=None)
@given(value=_FLAT)
def test_check_metadata_agrees_with_writing_it_out(value: dict[str, Any]) -> None:
    # `check_metadata` skips writing out flat dicts that are surely small: same verdicts.
    size = _size_or_refusal(value)
    if size is not None and size <= LIMIT:
        assert check_metadata(value) == value
    else:
        with pytest.raises(ValueError, match="metadata"):
            check_metadata(value)
    if _surely_small(value):
        assert size is not None
        assert size <= LIMIT


def test_the_shortcut_takes_small_flat_metadata_only() -> None:
    assert _surely_small({"thread": "release", "n": 3, "ok": True, "x": None})
    assert not _surely_small({"a": {"b": 1}})  # nested
    assert not _surely_small({"a": 1.5})  # floats: NaN and infinities need the writer
    assert not _surely_small({"a": "é"})  # other text: surrogates need the writer
    assert not _surely_small({"a": 10**18})  # more than 20 characters possible
    assert not _surely_small(dict.fromkeys(map(str, range(65)), 1))  # too many entries
    assert not _surely_small(OrderedDict(a=1))  # not a plain dict
    assert not _surely_small({"k": "a" * 3000})  # 6 x 3000 could pass 16 KiB


def test_check_metadata_refuses_circular_data() -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    with pytest.raises(ValueError, match="metadata"):
        check_metadata(value)


# --- options, surrogates, quoting (issue 12.5) --------------------------------------------------


def test_shown_cuts_long_strings_and_containers() -> None:
    assert shown("abc") == "'abc'"
    cut = shown("x" * 10_000_000)
    assert len(cut) < 120
    assert "…" in cut
    assert shown(list(range(1_000_000))) == "<list of 1000000 items>"
    assert shown(3.5) == "3.5"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(chr(0xD800), id="high"),
        pytest.param("ok" + chr(0xDFFF) + "ok", id="low-inside"),
        pytest.param("end" + chr(0xD83D), id="half-an-emoji"),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValueError, match="subject holds a lone surrogate"):
        check_no_surrogates(text, "subject")
    with pytest.raises(ValueError, match="subject"):
        check_non_empty(text, "subject")
    with pytest.raises(ValueError, match="subject"):
        check_text(text, "subject", 4000)
    with pytest.raises(ValueError, match="meta"):
        check_metadata({"k": [text]}, "meta")


def test_a_real_astral_character_is_fine() -> None:
    assert check_text("hi 😀", "text", 10) == "hi 😀"


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, -math.inf])
def test_check_seconds_refuses_values(value: float) -> None:
    with pytest.raises(ValueError, match="wait"):
        check_seconds(value, "wait")


@pytest.mark.parametrize("value", ["5", None, True, [1]])
def test_check_seconds_refuses_types(value: object) -> None:
    with pytest.raises(TypeError, match="wait"):
        check_seconds(value, "wait")


def test_check_seconds_accepts() -> None:
    assert check_seconds(2, "wait") == 2.0
    assert check_seconds(None, "wait", allow_none=True) is None


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "8"])
def test_check_size_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="buffer"):
        check_size(value, "buffer")


@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_check_bool_refuses_non_bools(value: object) -> None:
    with pytest.raises(TypeError, match="flag"):
        check_bool(value, "flag")


def test_argument_type_error_is_both_kinds() -> None:
    assert issubclass(ArgumentTypeError, TypeError)
    assert issubclass(ArgumentTypeError, ValueError)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost.", True),
        ("api.localhost", False),
        ("a.b.localhost", False),
    ],
)
def test_only_localhost_itself_is_a_loopback_name(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
