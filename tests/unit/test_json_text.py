"""The prebuilt compact JSON encoder writes what ``json.JSONEncoder`` writes (issue 18).

`compact_encoder` calls the C encoder of the ``json`` module directly; these tests hold its
text and its refusals to ``JSONEncoder(separators=(",", ":"), allow_nan=False)`` on any
JSON-like value, and check that it falls back to ``JSONEncoder.encode`` where the C encoder
is missing or writes something else.
"""

from __future__ import annotations

import json
import json.encoder
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utd_trio._protocol._json_text import compact_encoder

from ._helpers import nested

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: both refuse them
    | st.text()  # lone surrogates included
)
_KEYS = st.text(max_size=8) | st.integers() | st.booleans() | st.none() | st.floats()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_KEYS, inner, max_size=4)
        | st.sets(st.integers(), max_size=2)
    ),  # not JSON: both refuse
    max_leaves=12,
)


def _outcome(encode: Any, value: Any) -> tuple[str, str]:
    try:
        return "text", encode(value)
    except (TypeError, ValueError) as exc:
        return "refused", type(exc).__name__


@pytest.mark.parametrize("ascii_only", [True, False])
@settings(max_examples=300, deadline=None)
@given(value=_VALUES)
def test_the_same_text_and_the_same_refusals(ascii_only: bool, value: Any) -> None:
    reference = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=ascii_only)
    encode = compact_encoder(ensure_ascii=ascii_only)
    assert _outcome(encode, value) == _outcome(reference.encode, value)


def test_it_uses_the_prebuilt_c_encoder_here() -> None:
    # Not JSONEncoder.encode (a bound method): the function this module builds.
    encode = compact_encoder(ensure_ascii=True)
    assert not _falls_back(encode)
    assert encode({"a": [1, None]}) == '{"a":[1,null]}'


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param({"x": math.nan}, ValueError, id="nan"),
        pytest.param({"x": -math.inf}, ValueError, id="infinity"),
        pytest.param({"x": b"raw"}, TypeError, id="bytes"),
        pytest.param({"x": object()}, TypeError, id="object"),
        pytest.param({(1, 2): "v"}, TypeError, id="tuple-key"),
        pytest.param(nested(10_000), RecursionError, id="too-deep"),
    ],
)
def test_refusals(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        compact_encoder(ensure_ascii=True)(value)


def test_circular_data_is_refused_as_too_deep() -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    with pytest.raises(RecursionError):
        compact_encoder(ensure_ascii=False)(value)


def test_without_the_c_encoder_it_is_the_json_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = compact_encoder(ensure_ascii=False)
    assert _falls_back(encode)
    assert encode({"é": [1.5, True]}) == '{"é":[1.5,true]}'


def test_a_c_encoder_that_writes_otherwise_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    real = json.encoder.c_make_encoder
    assert real is not None

    def spaced(markers: Any, default: Any, strings: Any, *rest: Any) -> Any:
        return real(markers, default, strings, None, ": ", ", ", False, False, False)

    monkeypatch.setattr(json.encoder, "c_make_encoder", spaced)
    assert _falls_back(compact_encoder(ensure_ascii=True))


def test_a_c_encoder_of_another_signature_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def other(*args: Any) -> Any:
        raise TypeError("takes 10 arguments")

    monkeypatch.setattr(json.encoder, "c_make_encoder", other)
    assert _falls_back(compact_encoder(ensure_ascii=True))


def test_a_c_encoder_that_writes_nan_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    real = json.encoder.c_make_encoder
    assert real is not None

    def lax(*args: Any) -> Any:
        return real(*args[:-1], True)  # allow_nan

    monkeypatch.setattr(json.encoder, "c_make_encoder", lax)
    assert _falls_back(compact_encoder(ensure_ascii=True))


def test_a_c_encoder_that_refuses_the_sample_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def refusing(*args: Any) -> Any:
        def iterencode(value: Any, level: int) -> Any:
            raise ValueError("refuses everything")  # as it would refuse NaN: still not usable

        return iterencode

    monkeypatch.setattr(json.encoder, "c_make_encoder", refusing)
    assert _falls_back(compact_encoder(ensure_ascii=True))


def _falls_back(encode: Any) -> bool:
    # (What JSONEncoder.encode then writes depends on the patched module; not tested here.)
    return isinstance(getattr(encode, "__self__", None), json.JSONEncoder)
