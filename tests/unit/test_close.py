"""The close-code table, protocol §5, and the error a terminal close raises."""

from __future__ import annotations

import pytest

from utd_trio._errors import ErrorCode
from utd_trio._protocol._classify import CloseAction, CloseDecision, close_error, decide_close

A = CloseAction


@pytest.mark.parametrize(
    ("code", "action"),
    [
        pytest.param(1000, A.NONE, id="1000-normal"),
        pytest.param(1001, A.RECONNECT_NOW, id="1001-going-away"),
        pytest.param(1006, A.BACKOFF, id="1006-abnormal"),
        pytest.param(None, A.BACKOFF, id="no-close-frame"),
        pytest.param(1011, A.BACKOFF, id="1011-internal-error"),
        pytest.param(4001, A.REMINT_NOW, id="4001-token"),
        pytest.param(4003, A.TERMINAL, id="4003-forbidden"),
        pytest.param(4008, A.RECONNECT_NOW, id="4008-heartbeat"),
        pytest.param(4029, A.BACKOFF, id="4029-rate-limited"),
        pytest.param(1002, A.BACKOFF, id="1002-protocol-error"),
        pytest.param(4999, A.BACKOFF, id="unknown-private-code"),
    ],
)
def test_close_code_table(code: int | None, action: CloseAction) -> None:
    assert decide_close(code).action is action


@pytest.mark.parametrize(
    ("previous_was_token_close", "action"),
    [
        pytest.param(False, A.REMINT_NOW, id="first-4001-remints-at-once"),
        pytest.param(True, A.BACKOFF, id="second-4001-in-a-row-backs-off"),
    ],
)
def test_4001_reconnects_at_once_only_once_in_a_row(
    previous_was_token_close: bool, action: CloseAction
) -> None:
    decision = decide_close(4001, previous_was_token_close=previous_was_token_close)
    assert decision.action is action
    assert decision.floor == 0.0


@pytest.mark.parametrize("code", [1000, 1001, 1006, 1011, 4003, 4008, 4029, None])
def test_previous_token_close_only_matters_for_4001(code: int | None) -> None:
    assert decide_close(code, previous_was_token_close=True) == decide_close(code)


def test_4029_backs_off_at_least_5_seconds() -> None:
    decision = decide_close(4029)
    assert decision.action is A.BACKOFF
    assert decision.floor >= 5.0


@pytest.mark.parametrize("code", [1000, 1001, 1006, 1011, 4001, 4003, 4008, None])
def test_only_4029_sets_a_floor(code: int | None) -> None:
    assert decide_close(code).floor == 0.0


def test_close_decision_defaults() -> None:
    assert CloseDecision(A.BACKOFF) == CloseDecision(A.BACKOFF, floor=0.0)


# --- close_error -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        pytest.param(4003, "User is banned", ErrorCode.BANNED, id="4003-banned"),
        pytest.param(4003, "BANNED", ErrorCode.BANNED, id="4003-banned-uppercase"),
        pytest.param(4003, "Project suspended", ErrorCode.FORBIDDEN, id="4003-suspended"),
        pytest.param(4003, "session revoked", ErrorCode.FORBIDDEN, id="4003-revoked"),
        pytest.param(4003, "session abandoned", ErrorCode.FORBIDDEN, id="4003-ban-substring-only"),
        pytest.param(4003, None, ErrorCode.FORBIDDEN, id="4003-no-reason"),
        pytest.param(4003, "", ErrorCode.FORBIDDEN, id="4003-empty-reason"),
        pytest.param(1011, "internal error", ErrorCode.NETWORK, id="1011"),
        pytest.param(None, None, ErrorCode.NETWORK, id="no-code"),
    ],
)
def test_close_error(code: int | None, reason: str | None, expected: ErrorCode) -> None:
    error = close_error(code, reason)
    assert error.code is expected
    assert error.status == code
    assert error.message  # never empty, even without a reason
    if reason:
        assert error.message == reason


@pytest.mark.parametrize("reason", ["User is banned", "Project suspended", "session revoked"])
def test_a_4003_close_error_is_terminal_and_forbidden(reason: str) -> None:
    error = close_error(4003, reason)
    assert error.is_terminal
    assert error.is_forbidden


def test_a_non_4003_close_error_is_not_terminal() -> None:
    assert not close_error(1011, "internal error").is_terminal
