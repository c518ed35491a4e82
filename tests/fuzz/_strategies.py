"""Hypothesis strategies for hostile input to the engine (REST bodies, headers, WS frames)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Every code point that UTF-8 can carry (lone surrogates are not valid UTF-8 on the wire).
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=15,
)


class Big(str):
    """A long string that Hypothesis reports by its size (failure reports stay readable)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return (
            f"Big(<{len(self)} chars> {str.__repr__(self[:40])}...)"
            if len(self) > 80
            else (f"Big({str.__repr__(self)})")
        )


class BigBytes(bytes):
    """Bytes that Hypothesis reports by their size."""

    __slots__ = ()

    def __repr__(self) -> str:
        return (
            f"BigBytes(<{len(self)} bytes> {bytes.__repr__(self[:40])}...)"
            if len(self) > 80
            else (f"BigBytes({bytes.__repr__(self)})")
        )


def big(text: str) -> Big:
    """Wrap ``text`` so that its repr is short."""
    return Big(text)


def _nested(depth: int, kind: str) -> Big:
    if kind == "list":
        return Big("[" * depth + "]" * depth)
    return Big('{"a":' * depth + "1" + "}" * depth)


deep_json = st.builds(
    _nested,
    st.integers(min_value=50, max_value=500) | st.integers(min_value=50_000, max_value=200_000),
    st.sampled_from(["list", "dict"]),
)
"""Deeply nested JSON text (past Python's recursion limit at the top of the range)."""

huge_numbers = st.sampled_from(
    ["1e999", "-1e999", "1" * 5000, "-" + "9" * 4301, "NaN", "Infinity", "1.5e-400"]
)
"""Numbers json.loads refuses, or that overflow to inf, or exceed the int digit limit."""

json_text = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    deep_json,
    huge_numbers,
    st.builds(lambda n: Big('{"identity": "' + "a" * n + '"}'), st.integers(0, 2 * 1024 * 1024)),
)


def _around(before: str, bad: str, after: str) -> str:
    return before + bad + after


def _as_key(key: str) -> dict[str, Any]:
    return {key: 1}


lone_surrogate = st.characters(categories=["Cs"])
surrogate_text: st.SearchStrategy[str] = st.builds(_around, text, lone_surrogate, text)
"""Text holding a lone surrogate (``json.dumps`` writes it as a ``\\uXXXX`` escape)."""


def _insert(items: list[Any], item: Any, at: int) -> list[Any]:
    return [*items[:at], item, *items[at:]]


def _put(fields: dict[str, Any], key: str, item: Any) -> dict[str, Any]:
    return {**fields, key: item}


with_surrogate: st.SearchStrategy[Any] = st.recursive(
    surrogate_text | st.builds(_as_key, surrogate_text),
    lambda inner: (
        st.builds(_insert, st.lists(json_values, max_size=3), inner, st.integers(0, 3))
        | st.builds(_put, st.dictionaries(text, json_values, max_size=3), text, inner)
    ),
    max_leaves=4,
)
"""A JSON value with a lone surrogate somewhere inside: a string or a key, at any depth."""


def _utf8(s: str) -> bytes:
    return BigBytes(s.encode("utf-8"))


# Invalid UTF-8: lone continuation bytes, overlong forms, surrogate halves, truncated sequences.
invalid_utf8 = st.sampled_from(
    [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\x80", b"\xf8\x88\x80\x80\x80"]
).flatmap(
    lambda bad: st.sampled_from(
        [bad, b'{"identity": "' + bad + b'"}', b'{"' + bad + b'": 1}', b"[" + bad + b"]"]
    )
)

bodies = st.one_of(
    st.just(b""),
    st.builds(_put, st.dictionaries(text, json_values, max_size=3), text, with_surrogate).map(
        lambda d: _utf8(json.dumps(d))
    ),
    st.binary(max_size=200),
    invalid_utf8,
    json_text.map(_utf8),
    st.fixed_dictionaries(
        {},
        optional={
            name: json_values
            for name in (
                "token",
                "platform",
                "provider",
                "filename",
                "content_type",
                "size",
                "conversation_id",
                "name",
                "member_ids",
                "user_ids",
                "role",
            )
        },
    ).map(lambda d: _utf8(json.dumps(d))),
    st.fixed_dictionaries(
        {},
        optional={
            "identity": json_values,
            "name": json_values,
            "os": json_values,
            "os_version": json_values,
            "device_model": json_values,
            "app_version": json_values,
        },
    ).map(lambda d: _utf8(json.dumps(d))),
)
"""Request bodies: empty, random bytes, invalid UTF-8, hostile JSON, wrong-typed fields."""

# Header values h11 will put on the wire: visible ASCII plus obs-text (0x80-0xff).
header_value = st.binary(min_size=0, max_size=40).map(
    lambda b: bytes(c for c in b if 0x21 <= c <= 0x7E or c >= 0x80)
)
"""Header values h11 accepts (no whitespace at the ends, no control characters)."""
header_name = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"),
    min_size=1,
    max_size=20,
)
# Framing headers are the HTTP client's business (h11 refuses bad ones before sending).
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "upgrade", "expect"}
extra_headers = st.dictionaries(
    header_name.filter(lambda name: name.lower() not in FRAMING), header_value, max_size=4
)
query = st.dictionaries(text, text, max_size=4)


def choice_or_random(fixed: list[Any], random: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``fixed`` (often) or a random value."""
    return st.one_of(st.sampled_from(fixed), random)
