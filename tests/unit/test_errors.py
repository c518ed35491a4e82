"""`UTDStreamError`: text, repr and predicates."""

from __future__ import annotations

import pytest

from utd_trio._errors import ErrorCode, UTDStreamError

E = ErrorCode


def test_str_shows_code_message_and_status() -> None:
    error = UTDStreamError(E.FEATURE_DISABLED, "Signaling is not enabled for this plan", status=403)
    assert str(error) == "[feature_disabled] Signaling is not enabled for this plan (status 403)"


def test_str_without_status() -> None:
    assert str(UTDStreamError(E.TIMEOUT, "no ack in 10 s")) == "[timeout] no ack in 10 s"


def test_repr_names_the_fields() -> None:
    error = UTDStreamError(E.RATE_LIMITED, "slow down", status=429, retry_after=2.0)
    assert repr(error) == (
        "UTDStreamError(code='rate_limited', status=429, message='slow down', retry_after=2.0)"
    )


def test_attributes_and_exception_args() -> None:
    error = UTDStreamError(
        E.FEATURE_DISABLED,
        "m",
        status=403,
        retry_after=None,
        wire_code="feature_disabled",
        capability="chat",
    )
    assert (error.code, error.message, error.status) == (E.FEATURE_DISABLED, "m", 403)
    assert (error.wire_code, error.capability, error.retry_after) == (
        "feature_disabled",
        "chat",
        None,
    )
    assert error.args == ("m",)
    assert isinstance(error, Exception)


def test_error_codes_are_strings() -> None:
    assert E.BANNED == "banned"
    assert E("identity_mint_disabled") is E.IDENTITY_MINT_DISABLED


_PREDICATES = (
    "is_feature_disabled",
    "is_forbidden",
    "is_banned",
    "is_unauthorized",
    "is_rate_limited",
    "is_terminal",
)


PREDICATE_TABLE = [
    pytest.param(E.LIMIT_EXCEEDED, {"is_forbidden"}, id="limit-exceeded"),
    pytest.param(E.BANNED, {"is_forbidden", "is_banned", "is_terminal"}, id="banned"),
    pytest.param(E.IDENTITY_MINT_DISABLED, {"is_forbidden", "is_terminal"}, id="mint-disabled"),
    pytest.param(E.FEATURE_DISABLED, {"is_forbidden", "is_feature_disabled"}, id="feature"),
    pytest.param(E.FORBIDDEN, {"is_forbidden", "is_terminal"}, id="forbidden"),
    pytest.param(E.UNAUTHORIZED, {"is_unauthorized"}, id="unauthorized"),
    pytest.param(E.RATE_LIMITED, {"is_rate_limited"}, id="rate-limited"),
    pytest.param(E.NOT_FOUND, set(), id="not-found"),
    pytest.param(E.CONFLICT, set(), id="conflict"),
    pytest.param(E.INVALID, set(), id="invalid"),
    pytest.param(E.SERVER, set(), id="server"),
    pytest.param(E.NETWORK, set(), id="network"),
    pytest.param(E.TIMEOUT, set(), id="timeout"),
    pytest.param(E.PROTOCOL, set(), id="protocol"),
    pytest.param(E.CLOSED, set(), id="closed"),
]


@pytest.mark.parametrize(("code", "true_predicates"), PREDICATE_TABLE)
def test_predicates(code: ErrorCode, true_predicates: set[str]) -> None:
    error = UTDStreamError(code, "x")
    assert {name for name in _PREDICATES if getattr(error, name)} == true_predicates


def test_every_error_code_is_in_the_predicate_table() -> None:
    # Adding an ErrorCode must be a deliberate decision about its predicates.
    assert {row.values[0] for row in PREDICATE_TABLE} == set(E)


@pytest.mark.parametrize(
    ("capability", "signaling", "chat"),
    [
        pytest.param("signaling", True, False, id="signaling"),
        pytest.param("chat", False, True, id="chat"),
        pytest.param(None, False, False, id="unknown"),
    ],
)
def test_capability_predicates(capability: str | None, signaling: bool, chat: bool) -> None:
    error = UTDStreamError(E.FEATURE_DISABLED, "x", capability=capability)
    assert error.is_signaling_disabled is signaling
    assert error.is_chat_disabled is chat


def test_capability_predicates_need_feature_disabled() -> None:
    error = UTDStreamError(E.FORBIDDEN, "x", capability="chat")
    assert not error.is_chat_disabled
    assert not error.is_signaling_disabled
