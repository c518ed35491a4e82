"""The exception families: every `ErrorCode` comes out as its own subclass of `UTDStreamError`.

`UTDStreamError(code, ...)` returns the family class of ``code`` (one table in `_errors`), so
the classifier and every construction site produce the right class without naming it; the
tests here state the expected hierarchy independently of that table.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import utd_trio
from utd_trio import (
    Banned,
    Conflict,
    ConnectionFailed,
    ErrorCode,
    FeatureDisabled,
    Forbidden,
    IdentityMintDisabled,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    ProtocolError,
    RateLimited,
    ServerError,
    SessionClosed,
    TimedOut,
    Unauthorized,
    UTDStreamError,
)
from utd_trio._errors import UnfixableTransportError
from utd_trio._protocol._classify import classify_body, classify_error_frame, close_error

E = ErrorCode

FAMILY = {
    E.LIMIT_EXCEEDED: LimitExceeded,
    E.BANNED: Banned,
    E.IDENTITY_MINT_DISABLED: IdentityMintDisabled,
    E.FEATURE_DISABLED: FeatureDisabled,
    E.FORBIDDEN: Forbidden,
    E.UNAUTHORIZED: Unauthorized,
    E.NOT_FOUND: NotFound,
    E.CONFLICT: Conflict,
    E.INVALID: InvalidRequest,
    E.RATE_LIMITED: RateLimited,
    E.SERVER: ServerError,
    E.NETWORK: ConnectionFailed,
    E.TIMEOUT: TimedOut,
    E.PROTOCOL: ProtocolError,
    E.CLOSED: SessionClosed,
}
CLASSES = sorted(set(FAMILY.values()), key=lambda cls: cls.__name__)
BUILTIN_BASES: dict[ErrorCode, type[Exception]] = {
    E.NETWORK: ConnectionError,
    E.TIMEOUT: TimeoutError,
}


def test_every_error_code_has_a_family() -> None:
    # Adding an ErrorCode must be a deliberate decision about its class.
    assert set(FAMILY) == set(E)


@pytest.mark.parametrize("code", list(E), ids=str)
def test_the_base_constructor_gives_the_family_class(code: ErrorCode) -> None:
    error = UTDStreamError(code, "m", status=400, wire_code="w")
    assert type(error) is FAMILY[code]
    assert isinstance(error, UTDStreamError)
    assert (error.code, error.message, error.status, error.wire_code) == (code, "m", 400, "w")
    assert error.args == ("m",)


@pytest.mark.parametrize("code", list(E), ids=str)
def test_builtin_bases(code: ErrorCode) -> None:
    error = UTDStreamError(code, "m")
    builtin = BUILTIN_BASES.get(code)
    assert isinstance(error, OSError) is (builtin is not None)
    if builtin is not None:
        assert isinstance(error, builtin)
        with pytest.raises(builtin):
            raise error


@pytest.mark.parametrize("code", list(E), ids=str)
def test_forbidden_family_is_the_is_forbidden_predicate(code: ErrorCode) -> None:
    error = UTDStreamError(code, "m")
    assert isinstance(error, Forbidden) is error.is_forbidden
    assert isinstance(error, Banned) is error.is_banned
    assert isinstance(error, FeatureDisabled) is error.is_feature_disabled
    assert isinstance(error, Unauthorized) is error.is_unauthorized
    assert isinstance(error, RateLimited) is error.is_rate_limited


def test_except_reads_like_the_family() -> None:
    def fail(code: ErrorCode) -> None:
        raise UTDStreamError(code, "m")

    with pytest.raises(ConnectionError):
        fail(E.NETWORK)
    with pytest.raises(TimeoutError):
        fail(E.TIMEOUT)
    with pytest.raises(Forbidden):
        fail(E.FEATURE_DISABLED)
    with pytest.raises(Forbidden) as info:
        fail(E.LIMIT_EXCEEDED)
    assert not isinstance(info.value, Banned)
    with pytest.raises(UTDStreamError):
        fail(E.PROTOCOL)


def test_unfixable_transport_error_is_a_connection_failure() -> None:
    error = UnfixableTransportError(E.NETWORK, "connection refused; is the engine running?")
    assert type(error) is UnfixableTransportError
    assert isinstance(error, ConnectionFailed)
    assert isinstance(error, ConnectionError)
    with pytest.raises(ValueError, match="UnfixableTransportError cannot carry"):
        UnfixableTransportError(E.TIMEOUT, "m")


def test_a_broader_family_gives_the_code_class() -> None:
    assert type(Forbidden(E.BANNED, "m")) is Banned
    assert type(Forbidden(E.FORBIDDEN, "m")) is Forbidden
    assert type(Banned(E.BANNED, "m")) is Banned


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        pytest.param(Forbidden, E.TIMEOUT, id="forbidden-timeout"),
        pytest.param(Banned, E.FORBIDDEN, id="narrower-than-the-code"),
        pytest.param(Banned, E.FEATURE_DISABLED, id="sibling"),
        pytest.param(ConnectionFailed, E.TIMEOUT, id="network-timeout"),
    ],
)
def test_a_family_refuses_another_familys_code(cls: type[UTDStreamError], code: E) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__} cannot carry the code {code}"):
        cls(code, "m")


def test_a_subclass_of_the_base_of_ones_own_is_left_alone() -> None:
    class AppError(UTDStreamError):
        pass

    error = AppError(E.NETWORK, "m")
    assert type(error) is AppError
    assert not isinstance(error, ConnectionError)


def test_str_and_repr_do_not_change_with_the_class() -> None:
    error = UTDStreamError(E.RATE_LIMITED, "slow down", status=429, retry_after=2.0)
    assert type(error) is RateLimited
    assert str(error) == "[rate_limited] slow down (status 429)"
    assert repr(error) == (
        "UTDStreamError(code='rate_limited', status=429, message='slow down', retry_after=2.0)"
    )
    network = UTDStreamError(E.NETWORK, "reset")
    assert str(network) == "[network] reset"  # not OSError's "[Errno ...]" form
    assert isinstance(network, ConnectionFailed)
    assert (network.errno, network.strerror, network.filename) == (None, None, None)


def _copies(error: UTDStreamError) -> list[Any]:
    return [
        pickle.loads(pickle.dumps(error)),
        pickle.loads(pickle.dumps(error, protocol=0)),
        copy.copy(error),
        copy.deepcopy(error),
    ]


@pytest.mark.parametrize("code", list(E), ids=str)
def test_pickle_and_copy_keep_class_and_fields(code: ErrorCode) -> None:
    error = UTDStreamError(
        code, "m", status=403, retry_after=1.5, wire_code="feature_disabled", capability="chat"
    )
    error.add_note("while sending")
    for clone in _copies(error):
        assert type(clone) is type(error)
        assert vars(clone) == vars(error)
        assert (clone.args, str(clone), repr(clone)) == (error.args, str(error), repr(error))
        assert clone.is_chat_disabled is error.is_chat_disabled


def test_pickle_keeps_the_unfixable_subclass() -> None:
    error = UnfixableTransportError(E.NETWORK, "the certificate does not verify")
    for clone in _copies(error):
        assert type(clone) is UnfixableTransportError
        assert clone.message == error.message


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        pytest.param(403, {"message": "Too many groups", "code": "limit_exceeded"}, LimitExceeded),
        pytest.param(403, {"message": "User is banned", "code": "banned"}, Banned),
        pytest.param(
            403, {"message": "no", "code": "appkey_identity_mint_disabled"}, IdentityMintDisabled
        ),
        pytest.param(403, {"message": "off", "code": "feature_disabled"}, FeatureDisabled),
        pytest.param(403, {"message": "Not your call"}, Forbidden),
        pytest.param(401, {"message": "Invalid credentials"}, Unauthorized),
        pytest.param(404, {"message": "Unknown group"}, NotFound),
        pytest.param(409, {"message": "Callee busy"}, Conflict),
        pytest.param(413, {"message": "Too large"}, InvalidRequest),
        pytest.param(422, {"message": "limit must be 1..200"}, InvalidRequest),
        pytest.param(429, {"message": "Slow down"}, RateLimited),
        pytest.param(503, "not json at all", ServerError),
        pytest.param(302, {}, ProtocolError),
    ],
)
def test_rest_bodies_classify_to_their_class(
    status: int, body: object, cls: type[UTDStreamError]
) -> None:
    error = classify_body(status, body, retry_after=3.0)
    assert type(error) is cls
    assert error.retry_after == 3.0


def test_a_chat_gate_from_rest_is_caught_as_forbidden() -> None:
    body = {"message": "Messaging is not enabled for this plan", "code": "feature_disabled"}
    with pytest.raises(Forbidden) as info:
        raise classify_body(403, body)
    assert isinstance(info.value, FeatureDisabled)
    assert info.value.is_chat_disabled


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        pytest.param({"status": 403, "message": "Signaling is not enabled"}, FeatureDisabled),
        pytest.param({"status": 403, "code": "banned", "message": "User is banned"}, Banned),
        pytest.param({"status": 403, "message": "Not a member"}, Forbidden),
        pytest.param({"status": 404, "message": "Unknown call"}, NotFound),
        pytest.param({"status": 409, "message": "Callee busy"}, Conflict),
        pytest.param({"status": 422, "message": "text too long"}, InvalidRequest),
        pytest.param({"status": 429, "message": "Slow down", "retry_after": 2}, RateLimited),
        pytest.param({"status": 500, "message": "oops"}, ServerError),
        pytest.param({"message": "no status"}, ProtocolError),
    ],
)
def test_ws_error_frames_classify_to_their_class(
    data: dict[str, Any], cls: type[UTDStreamError]
) -> None:
    assert type(classify_error_frame(data)) is cls


def test_a_rate_limited_frame_keeps_retry_after() -> None:
    error = classify_error_frame({"status": 429, "message": "Slow down", "retry_after": 2})
    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.0


@pytest.mark.parametrize(
    ("code", "reason", "cls"),
    [
        pytest.param(4001, "token expired", Unauthorized, id="4001"),
        pytest.param(4003, "User is banned", Banned, id="4003-banned"),
        pytest.param(4003, "", Forbidden, id="4003-bare"),
        pytest.param(4029, "slow down", RateLimited, id="4029"),
        pytest.param(1006, "lost", ConnectionFailed, id="1006"),
        pytest.param(1011, "oops", ConnectionFailed, id="1011"),
        pytest.param(None, None, ConnectionFailed, id="no-close-frame"),
    ],
)
def test_close_codes_classify_to_their_class(
    code: int | None, reason: str | None, cls: type[UTDStreamError]
) -> None:
    error = close_error(code, reason)
    assert type(error) is cls
    assert error.status == code


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_each_family_is_public_and_documented(cls: type[UTDStreamError]) -> None:
    assert getattr(utd_trio, cls.__name__) is cls
    assert cls.__name__ in utd_trio.__all__
    assert (cls.__doc__ or "").strip()
