"""The close-code table has one home: `close_error` (before and after the hello alike)."""

from __future__ import annotations

import pytest

from utd_trio import ErrorCode
from utd_trio._protocol._classify import close_error, says_banned
from utd_trio._transport._connect import _close_before_hello  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (4001, "token expired", ErrorCode.UNAUTHORIZED),
        (4029, "slow down", ErrorCode.RATE_LIMITED),
        (4003, "User is banned", ErrorCode.BANNED),
        (4003, "session abandoned", ErrorCode.FORBIDDEN),
        (4003, "", ErrorCode.FORBIDDEN),
        (1011, "oops", ErrorCode.NETWORK),
    ],
)
def test_before_and_after_hello_agree(code: int, reason: str, expected: ErrorCode) -> None:
    assert close_error(code, reason).code is expected
    assert _close_before_hello(code, reason).code is expected


def test_says_banned_is_the_word_not_a_substring_of_another() -> None:
    assert says_banned("User is BANNED")
    assert not says_banned("session abandoned")
    assert not says_banned(None)
