"""How a failed command reads: one line, in the words of the command line.

The library's messages name Python parameters (``user_id``, ``allow_insecure=True``); the
command line has flags (``--user``, ``--insecure``). `error_line` renders an expected failure
as one line and an exit status, translating those names; `opening_error` explains a failure
to open the session by naming the URL that was tried and what to check.
"""

from __future__ import annotations

import re
from http import HTTPStatus

import trio

from .._errors import ErrorCode, UTDStreamError
from .._protocol import _vocab as v

__all__ = [
    "EXIT_FAILED",
    "EXIT_USAGE",
    "CommandError",
    "error_line",
    "lone_error",
    "opening_error",
    "speak_flags",
]

EXIT_FAILED = 1
"""An expected failure: the engine refused, was unreachable, or the outcome was not reached."""
EXIT_USAGE = 2
"""Bad or missing arguments (argparse uses 2 as well)."""


class CommandError(Exception):
    """An expected failure of a subcommand: printed as one line, exits with ``status``."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


# Library parameter names, as the flags that set them (longest phrases first).
_FLAG_NAMES = (
    (re.compile(r"\bpass allow_insecure=True\b"), "pass --insecure"),
    (re.compile(r"\ballow_insecure=True\b"), "--insecure"),
    (re.compile(r"\bbase_url\b"), "--base-url"),
    (re.compile(r"\bconnect_timeout\b"), "--connect-timeout"),
    (re.compile(r"\buser_id\b"), "--user"),
    (re.compile(r"\bapp_id\b"), "--app-id"),
    (re.compile(r"\bapp_key\b"), "--app-key"),
)


def speak_flags(message: str) -> str:
    """``message`` with the library's parameter names replaced by the CLI's flags."""
    for pattern, flag in _FLAG_NAMES:
        message = pattern.sub(flag, message)
    return message


def lone_error(error: BaseException) -> BaseException:
    """The single leaf of nested one-member exception groups (else ``error`` itself)."""
    members: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    if issubclass(type(error), BaseExceptionGroup) and len(members) == 1:
        return lone_error(members[0])
    return error


def _message(error: UTDStreamError) -> str:
    """The engine's message, with its status once (never ``status 501 (status 501)``)."""
    text = error.message
    if error.status is not None and str(error.status) not in text:
        text = f"{text} (status {error.status})"
    return text


def _utd_line(error: UTDStreamError) -> str:
    match error.code:
        case ErrorCode.UNAUTHORIZED:
            return f"bad credentials: the engine refused the app id / app key ({error.message})"
        case ErrorCode.FEATURE_DISABLED:
            what = error.capability or "this feature"
            return f"{what} is not enabled for this project's plan ({error.message})"
        case ErrorCode.BANNED:
            return f"this user is banned ({error.message})"
        case ErrorCode.IDENTITY_MINT_DISABLED:
            return f"the project refuses app-key sessions ({error.message})"
        case ErrorCode.NETWORK | ErrorCode.TIMEOUT:
            return f"engine unreachable or not answering ({_message(error)})"
        case _:
            return f"{error.code.value}: {_message(error)}"


def opening_error(error: UTDStreamError, base_url: str) -> CommandError | None:
    """A failure to open a session that says where and what to check, or None to keep it.

    A 404/405/501 or a reply that is not the engine's JSON means ``base_url`` points at
    something that is not the engine's root (a typo, a path like ``/api/v1`` appended, an
    unrelated server).
    """
    wrong_place = error.status in (404, 405, 501) or error.code is ErrorCode.PROTOCOL
    if not wrong_place:
        return None
    root = base_url.rstrip("/")
    if error.status is not None:
        try:
            answer = f"answered {error.status} {HTTPStatus(error.status).phrase}"
        except ValueError:
            answer = f"answered {error.status}"
    else:
        answer = f"answered something else than the engine's JSON ({error.message})"
    hint = "check --base-url: it is the engine's root URL, like http://127.0.0.1:8080"
    if root.endswith("/api/v1") or "/api/" in root:
        hint += f", without {root[root.index('/api/') :]}"
    return CommandError(
        f"no UTD-Stream engine at {root}: POST {root}{v.PATH_MINT} {answer}; {hint}"
    )


def error_line(error: BaseException) -> tuple[str, int] | None:
    """One line and an exit status for an expected failure; None for a bug (show it)."""
    match error:
        case CommandError():
            line, status = str(error), error.status
        case UTDStreamError():
            line, status = _utd_line(error), EXIT_FAILED
        case ValueError():
            line, status = f"invalid argument: {speak_flags(str(error))}", EXIT_USAGE
        case OSError(strerror=str(reason), filename=name) if name is not None:
            line, status = f"{reason}: {name}", EXIT_FAILED
        case OSError():
            line, status = str(error), EXIT_FAILED
        case trio.TooSlowError():
            line, status = "timed out", EXIT_FAILED
        case _:
            return None
    return " ".join(speak_flags(line).split()), status
