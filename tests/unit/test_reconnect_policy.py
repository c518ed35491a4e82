"""The supervisor's decisions with no socket: close codes, failed mints, the first connect."""

from __future__ import annotations

import random

import pytest

from utd_trio import ErrorCode, UTDStreamError
from utd_trio._errors import UnfixableTransportError
from utd_trio._protocol._connection import CloseInfo
from utd_trio._protocol._reconnect import ReconnectPolicy, Retry, Stop


def policy(*, connected: bool = True, now: float = 0.0) -> ReconnectPolicy:
    p = ReconnectPolicy(
        backoff_base=0.5, backoff_cap=30.0, connect_timeout=20.0, now=now, rng=random.Random(7)
    )
    if connected:
        p.connected()
    return p


def retry(plan: Retry | Stop) -> Retry:
    assert isinstance(plan, Retry), plan
    return plan


def stop(plan: Retry | Stop) -> UTDStreamError:
    assert isinstance(plan, Stop), plan
    return plan.error


@pytest.mark.parametrize("code", [1001, 4008])
def test_going_away_and_heartbeat_timeout_reconnect_at_once(code: int) -> None:
    p = policy()
    for _ in range(20):  # never grows: always within the base
        assert 0.0 <= retry(p.after_close(CloseInfo(code, "x"), 0.0)).delay <= 0.5


def test_abnormal_closes_back_off_and_grow() -> None:
    p = policy()
    delays = [retry(p.after_close(CloseInfo(None, "reset"), 0.0)).delay for _ in range(12)]
    assert max(delays) <= 30.0
    assert max(delays[6:]) > 0.5  # the ceiling grows past the base


def test_a_second_4001_in_a_row_backs_off() -> None:
    p = policy()
    assert retry(p.after_close(CloseInfo(4001, "expired"), 0.0)).delay <= 0.5
    second = p.after_error(UTDStreamError(ErrorCode.UNAUTHORIZED, "no", status=401), 0.0)
    assert isinstance(second, Retry)  # counted as a token failure: backoff from now on
    assert retry(p.after_close(CloseInfo(1011, "x"), 0.0)).code == 1011


def test_4003_stops_and_4029_waits_at_least_five_seconds() -> None:
    p = policy()
    error = stop(p.after_close(CloseInfo(4003, "User is banned"), 0.0))
    assert error.code is ErrorCode.BANNED
    assert stop(policy().after_close(CloseInfo(4003, ""), 0.0)).code is ErrorCode.FORBIDDEN
    assert retry(policy().after_close(CloseInfo(4029, "slow down"), 0.0)).delay >= 5.0


def test_retry_after_raises_the_floor() -> None:
    exc = UTDStreamError(ErrorCode.RATE_LIMITED, "busy", status=429, retry_after=7.0)
    assert retry(policy().after_error(exc, 0.0)).delay >= 7.0


@pytest.mark.parametrize(
    "error",
    [
        UTDStreamError(ErrorCode.UNAUTHORIZED, "bad key", status=401),
        UTDStreamError(ErrorCode.NOT_FOUND, "no mint here", status=404),
        UTDStreamError(ErrorCode.INVALID, "bad identity", status=422),
        UnfixableTransportError(ErrorCode.NETWORK, "certificate verify failed"),
    ],
)
def test_the_first_connect_fails_fast_on_what_no_retry_fixes(error: UTDStreamError) -> None:
    assert stop(policy(connected=False).after_error(error, 1.0)) is error
    assert isinstance(policy().after_error(error, 1.0), Retry | Stop)  # later: not fail-fast


def test_an_unfixable_transport_error_is_retried_after_the_first_connection() -> None:
    error = UnfixableTransportError(ErrorCode.NETWORK, "connection refused")
    assert isinstance(policy().after_error(error, 1.0), Retry)  # an engine restart survives


def test_the_first_connect_gives_up_at_connect_timeout_naming_the_last_error() -> None:
    p = policy(connected=False, now=100.0)
    reset = UTDStreamError(ErrorCode.NETWORK, "connection reset")
    assert retry(p.after_error(reset, 119.9)).delay <= 0.1  # capped at the deadline
    error = stop(p.after_error(reset, 120.0))
    assert error.code is ErrorCode.NETWORK
    assert "no connection within 20 s; last error: connection reset" in error.message


def test_terminal_errors_stop_whenever_they_come() -> None:
    banned = UTDStreamError(ErrorCode.BANNED, "User is banned", status=403)
    assert stop(policy().after_error(banned, 0.0)) is banned
    assert stop(policy(connected=False).after_error(banned, 0.0)) is banned


def test_a_501_at_the_first_mint_is_no_engine_and_fails_fast() -> None:
    error = UTDStreamError(ErrorCode.SERVER, "Not Implemented", status=501)
    assert stop(policy(connected=False).after_error(error, 1.0)) is error
    assert isinstance(policy().after_error(error, 1.0), Retry)  # later, a 5xx is retried
    busy = UTDStreamError(ErrorCode.SERVER, "Service Unavailable", status=503)
    assert isinstance(policy(connected=False).after_error(busy, 1.0), Retry)
