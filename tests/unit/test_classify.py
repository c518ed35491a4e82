"""Error classification, protocol §3: first matching row wins."""

from __future__ import annotations

from typing import Any

import pytest

from utd_trio._errors import ErrorCode
from utd_trio._protocol._classify import (
    classify,
    classify_body,
    classify_error_frame,
    parse_retry_after,
)

E = ErrorCode


@pytest.mark.parametrize(
    ("status", "message", "code", "expected"),
    [
        # row 0: limit_exceeded, before anything else
        pytest.param(403, "Too many groups", "limit_exceeded", E.LIMIT_EXCEEDED, id="0-limit-403"),
        pytest.param(
            403, "You are banned", "limit_exceeded", E.LIMIT_EXCEEDED, id="0-limit-beats-banned"
        ),
        pytest.param(
            403, "Feature disabled", "limit_exceeded", E.LIMIT_EXCEEDED, id="0-limit-beats-disabled"
        ),
        pytest.param(403, "x", "LIMIT_EXCEEDED", E.LIMIT_EXCEEDED, id="0-code-case-insensitive"),
        pytest.param(422, "x", "limit_exceeded", E.LIMIT_EXCEEDED, id="0-limit-any-status"),
        # row 1: banned by code or by message
        pytest.param(403, "User is banned", "banned", E.BANNED, id="1-doc-example"),
        pytest.param(403, "nope", "banned", E.BANNED, id="1-by-code"),
        pytest.param(403, "User is BANNED", None, E.BANNED, id="1-by-message"),
        pytest.param(
            403,
            "banned; minting is disabled",
            "appkey_identity_mint_disabled",
            E.BANNED,
            id="1-beats-2",
        ),
        pytest.param(
            403, "banned: chat is not enabled", "feature_disabled", E.BANNED, id="1-beats-3"
        ),
        pytest.param(401, "User is banned", None, E.UNAUTHORIZED, id="1-needs-403"),
        # row 2: app-key mint disabled
        pytest.param(
            403,
            "Use a server-signed session",
            "appkey_identity_mint_disabled",
            E.IDENTITY_MINT_DISABLED,
            id="2-by-code",
        ),
        # row 3: feature disabled
        pytest.param(
            403,
            "Signaling is not enabled for this plan",
            "feature_disabled",
            E.FEATURE_DISABLED,
            id="3-doc-signaling",
        ),
        pytest.param(
            403,
            "Messaging is not enabled for this plan",
            "feature_disabled",
            E.FEATURE_DISABLED,
            id="3-doc-messaging",
        ),
        pytest.param(403, "nope", "feature_disabled", E.FEATURE_DISABLED, id="3-by-code"),
        pytest.param(403, "Calls are not enabled", None, E.FEATURE_DISABLED, id="3-not-enabled"),
        pytest.param(403, "Chat is not available", None, E.FEATURE_DISABLED, id="3-not-available"),
        pytest.param(403, "Messaging DISABLED", None, E.FEATURE_DISABLED, id="3-disabled"),
        # row 4: other 403
        pytest.param(403, "Not your call", "forbidden", E.FORBIDDEN, id="4-forbidden-code"),
        pytest.param(403, "Project suspended", None, E.FORBIDDEN, id="4-plain-403"),
        pytest.param(
            403, "Plan says no", "signaling_off", E.FORBIDDEN, id="4-code-not-feature_disabled"
        ),
        pytest.param(403, None, None, E.FORBIDDEN, id="4-no-message"),
        # row 5: by status
        pytest.param(401, "Invalid credentials", None, E.UNAUTHORIZED, id="5-401"),
        pytest.param(404, "unknown call", "not_found", E.NOT_FOUND, id="5-404"),
        pytest.param(404, "no such event", "unknown_event", E.NOT_FOUND, id="5-404-unknown-event"),
        pytest.param(409, "callee busy", "busy", E.CONFLICT, id="5-409-busy"),
        pytest.param(409, "wrong state", "conflict", E.CONFLICT, id="5-409"),
        pytest.param(413, "too large", None, E.INVALID, id="5-413"),
        pytest.param(422, "identity is required", None, E.INVALID, id="5-422"),
        pytest.param(422, "malformed frame", "invalid_frame", E.INVALID, id="5-422-invalid-frame"),
        pytest.param(429, "Too many requests", None, E.RATE_LIMITED, id="5-429"),
        pytest.param(500, "boom", None, E.SERVER, id="5-500"),
        pytest.param(502, None, None, E.SERVER, id="5-502"),
        pytest.param(
            503, "disabled for maintenance", None, E.SERVER, id="5-503-disabled-word-ignored"
        ),
        pytest.param(599, "x", None, E.SERVER, id="5-599"),
        pytest.param(None, "no status", None, E.PROTOCOL, id="no-status"),
        pytest.param(418, "teapot", None, E.PROTOCOL, id="unexpected-status"),
    ],
)
def test_classification_table(
    status: int | None, message: str | None, code: str | None, expected: ErrorCode
) -> None:
    error = classify(status, message, code)
    assert error.code is expected
    assert error.status == status
    assert error.wire_code == code


@pytest.mark.parametrize(
    ("message", "code", "capability"),
    [
        pytest.param(
            "Signaling is not enabled for this plan",
            "feature_disabled",
            "signaling",
            id="signaling",
        ),
        pytest.param("Calls are not available", None, "signaling", id="call"),
        pytest.param(
            "Messaging is not enabled for this plan", "feature_disabled", "chat", id="messaging"
        ),
        pytest.param("Chat disabled", None, "chat", id="chat"),
        pytest.param("Message sending disabled", None, "chat", id="message"),
        pytest.param(
            "Not enabled for this plan", "signaling_off", "signaling", id="from-code-signal"
        ),
        pytest.param("Not enabled for this plan", "chat_off", "chat", id="from-code-chat"),
        pytest.param("Feature not enabled", "feature_disabled", None, id="unknown-capability"),
    ],
)
def test_feature_disabled_names_the_capability(
    message: str, code: str | None, capability: str | None
) -> None:
    error = classify(403, message, code)
    assert error.code is ErrorCode.FEATURE_DISABLED
    assert error.capability == capability
    assert error.is_feature_disabled
    assert error.is_signaling_disabled is (capability == "signaling")
    assert error.is_chat_disabled is (capability == "chat")


@pytest.mark.parametrize(
    ("status", "message", "code", "forbidden"),
    [
        pytest.param(
            403,
            "Signaling is not enabled for this plan",
            "feature_disabled",
            True,
            id="feature-disabled",
        ),
        pytest.param(403, "User is banned", "banned", True, id="banned"),
        pytest.param(403, "x", "appkey_identity_mint_disabled", True, id="mint-disabled"),
        pytest.param(403, "x", "limit_exceeded", True, id="limit-exceeded"),
        pytest.param(403, "x", "forbidden", True, id="forbidden"),
        pytest.param(401, "x", None, False, id="unauthorized"),
        pytest.param(409, "x", None, False, id="conflict"),
        pytest.param(500, "x", None, False, id="server"),
    ],
)
def test_is_forbidden(status: int, message: str, code: str | None, forbidden: bool) -> None:
    assert classify(status, message, code).is_forbidden is forbidden


def test_retry_after_is_kept() -> None:
    error = classify(429, "Too many requests", retry_after=12.5)
    assert error.is_rate_limited
    assert error.retry_after == 12.5


def test_missing_message_gets_a_readable_default() -> None:
    error = classify(500, "   ")
    assert error.message
    assert "500" in error.message


# --- classify_body (REST) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "expected", "wire_code"),
    [
        pytest.param(
            403,
            {"message": "User is banned", "code": "banned"},
            E.BANNED,
            "banned",
            id="doc-banned",
        ),
        pytest.param(401, {"message": "Invalid credentials"}, E.UNAUTHORIZED, None, id="doc-401"),
        pytest.param(403, {"message": "x", "code": 42}, E.FORBIDDEN, "42", id="numeric-code"),
        pytest.param(403, {"message": ["banned"]}, E.FORBIDDEN, None, id="message-not-str"),
        pytest.param(403, None, E.FORBIDDEN, None, id="null-body"),
        pytest.param(403, "User is banned", E.FORBIDDEN, None, id="text-body-not-parsed"),
        pytest.param(404, [1, 2], E.NOT_FOUND, None, id="list-body"),
        pytest.param(503, 7, E.SERVER, None, id="number-body"),
        pytest.param(422, {}, E.INVALID, None, id="empty-body"),
    ],
)
def test_classify_body(status: int, body: Any, expected: ErrorCode, wire_code: str | None) -> None:
    error = classify_body(status, body)
    assert error.code is expected
    assert error.status == status
    assert error.wire_code == wire_code
    assert error.message


def test_classify_body_keeps_retry_after() -> None:
    error = classify_body(429, {"message": "Too many requests"}, retry_after=3.0)
    assert (error.code, error.retry_after) == (ErrorCode.RATE_LIMITED, 3.0)


# --- classify_error_frame (WebSocket) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected", "status"),
    [
        pytest.param(
            {
                "status": 403,
                "code": "feature_disabled",
                "message": "Signaling is not enabled for this plan",
            },
            E.FEATURE_DISABLED,
            403,
            id="feature-disabled",
        ),
        pytest.param(
            {"status": "409", "code": "busy", "message": "busy"},
            E.CONFLICT,
            409,
            id="string-status",
        ),
        pytest.param({"status": 409.0, "code": "busy"}, E.CONFLICT, 409, id="float-status"),
        pytest.param({"status": 422, "code": "invalid_frame"}, E.INVALID, 422, id="invalid-frame"),
        pytest.param({"status": 403, "code": "limit_exceeded"}, E.LIMIT_EXCEEDED, 403, id="limit"),
        pytest.param({"code": "limit_exceeded"}, E.LIMIT_EXCEEDED, None, id="limit-without-status"),
        pytest.param({}, E.PROTOCOL, None, id="empty"),
        pytest.param({"status": "junk", "message": "?"}, E.PROTOCOL, None, id="junk-status"),
    ],
)
def test_classify_error_frame(
    data: dict[str, Any], expected: ErrorCode, status: int | None
) -> None:
    error = classify_error_frame(data)
    assert error.code is expected
    assert error.status == status


def test_classify_error_frame_reads_retry_after() -> None:
    error = classify_error_frame({"status": 429, "message": "slow down", "retry_after": "7"})
    assert (error.code, error.retry_after) == (ErrorCode.RATE_LIMITED, 7.0)


# --- Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("120", 120.0, id="seconds"),
        pytest.param(" 5 ", 5.0, id="spaced"),
        pytest.param("1.5", 1.5, id="fraction"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("-3", 0.0, id="negative-clamped"),
        pytest.param("Wed, 21 Oct 2026 07:28:00 GMT", None, id="http-date-unsupported"),
        pytest.param("soon", None, id="junk"),
        pytest.param("", None, id="empty"),
        pytest.param("nan", None, id="nan"),
        pytest.param("inf", None, id="inf"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_transport_error_is_the_one_mapping_of_transport_failures() -> None:
    import ssl

    from utd_trio._errors import UnfixableTransportError
    from utd_trio._protocol._classify import transport_error

    refused = ConnectionRefusedError(111, "Connection refused")
    wrapped = OSError("All connection attempts failed")
    wrapped.__cause__ = refused
    # Refused on loopback: nothing listens there, a retry cannot help.
    local = transport_error(wrapped, "GET http://127.0.0.1:1/x", "cannot connect", host="127.0.0.1")
    assert isinstance(local, UnfixableTransportError)
    assert "is the engine running" in local.message
    # Refused elsewhere: a blip the supervisor may retry.
    remote = transport_error(
        wrapped, "GET http://example.net/x", "cannot connect", host="example.net"
    )
    assert type(remote) is not UnfixableTransportError
    assert remote.code is ErrorCode.NETWORK
    # A certificate that does not verify is never retried, on any host.
    cert = transport_error(
        ssl.SSLCertVerificationError("certificate verify failed"),
        "WebSocket wss://example.net",
        "TLS handshake failed",
        host="example.net",
    )
    assert isinstance(cert, UnfixableTransportError)
    # Anything else: a plain NETWORK error naming where it happened.
    other = transport_error(
        OSError("reset"), "POST http://127.0.0.1:9/x", "reset", host="127.0.0.1"
    )
    assert type(other) is not UnfixableTransportError
    assert other.message == "POST http://127.0.0.1:9/x: reset"
