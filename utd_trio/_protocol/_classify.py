"""Error classification (protocol §3) and the close-code table (protocol §5)."""

from __future__ import annotations

import enum
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from .._errors import ErrorCode, UnfixableTransportError, UTDStreamError
from . import _vocab as v
from ._parse import parse_float, parse_int, parse_object, parse_str
from ._urls import is_loopback

_DISABLED_WORDS = ("not enabled", "not available", "disabled")


def _capability(text: str) -> str | None:
    if "signal" in text or "call" in text:
        return "signaling"
    if "messag" in text or "chat" in text:
        return "chat"
    return None


def classify(
    status: int | None,
    message: str | None,
    wire_code: str | None = None,
    *,
    retry_after: float | None = None,
) -> UTDStreamError:
    """Classify a refusal from the engine (REST status + body, or a WS ``error`` frame).

    First match wins, in the order of protocol §3.
    """
    text = (message or "").strip() or f"request failed with status {status}"
    code_l = (wire_code or "").lower()
    lower = text.lower()

    def make(code: ErrorCode, capability: str | None = None) -> UTDStreamError:
        return UTDStreamError(
            code,
            text,
            status=status,
            retry_after=retry_after,
            wire_code=wire_code,
            capability=capability,
        )

    if code_l == v.WIRE_LIMIT_EXCEEDED:
        return make(ErrorCode.LIMIT_EXCEEDED)
    if status == 403:
        if code_l == v.WIRE_BANNED or says_banned(lower):
            return make(ErrorCode.BANNED)
        if code_l == v.WIRE_IDENTITY_MINT_DISABLED:
            return make(ErrorCode.IDENTITY_MINT_DISABLED)
        if code_l == v.WIRE_FEATURE_DISABLED or any(w in lower for w in _DISABLED_WORDS):
            return make(ErrorCode.FEATURE_DISABLED, _capability(f"{code_l} {lower}"))
        return make(ErrorCode.FORBIDDEN)
    if status is None:
        return make(ErrorCode.PROTOCOL)
    if status == 401:
        return make(ErrorCode.UNAUTHORIZED)
    if status == 404:
        return make(ErrorCode.NOT_FOUND)
    if status == 409:
        return make(ErrorCode.CONFLICT)
    if status in (413, 422) or status == 400:
        return make(ErrorCode.INVALID)
    if status == 429:
        return make(ErrorCode.RATE_LIMITED)
    if status >= 500:
        return make(ErrorCode.SERVER)
    return make(ErrorCode.PROTOCOL)


def classify_body(status: int, body: object, *, retry_after: float | None = None) -> UTDStreamError:
    """Classify a REST error: ``body`` is the decoded JSON (anything; tolerated)."""
    obj = parse_object(body) or {}
    message = parse_str(obj.get("message"))
    code = parse_str(obj.get("code"))
    return classify(status, message, code, retry_after=retry_after)


def classify_error_frame(data: Mapping[str, Any]) -> UTDStreamError:
    """Classify a WebSocket ``error`` frame's data."""
    return classify(
        parse_int(data.get("status")),
        parse_str(data.get("message")),
        parse_str(data.get("code")),
        retry_after=parse_float(data.get("retry_after")),
    )


TransportFailure = Literal["certificate", "refused"]

TRUST_HINT = (
    "trust the engine's CA with ssl_context=... (CLI: --ca-file, or the UTD_CA_FILE "
    "environment variable)"
)


def transport_failure(exc: BaseException) -> TransportFailure | None:
    """What no retry can fix in a transport failure's chain (causes, contexts, groups).

    ``"certificate"`` when the peer's certificate does not verify, ``"refused"`` when the
    connection was refused (nothing listens there), None otherwise.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    refused = False
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return "certificate"
        refused = refused or isinstance(current, ConnectionRefusedError)
        if isinstance(current, BaseExceptionGroup):
            group = cast("BaseExceptionGroup[BaseException]", current)
            stack.extend(group.exceptions)
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return "refused" if refused else None


def transport_message(failure: TransportFailure | None, where: str, detail: str) -> str:
    """The message of a transport failure, saying what to do when a retry cannot help."""
    if failure == "certificate":
        return f"{where}: the certificate does not verify ({detail}); {TRUST_HINT}"
    if failure == "refused":
        return f"{where}: connection refused; is the engine running at this URL?"
    return f"{where}: {detail}"


def transport_error(
    exc: BaseException, where: str, detail: str, *, host: str | None
) -> UTDStreamError:
    """A failed exchange below the protocol (dial, TLS, HTTP transport) as a NETWORK error.

    The one mapping of transport exceptions, used by the REST client and the WebSocket dial:
    an `UnfixableTransportError` (the supervisor stops instead of retrying) when the
    certificate does not verify, or when a connection to a loopback ``host`` is refused
    (nothing listens there: a wrong port, not a blip); a plain NETWORK error otherwise.
    """
    failure = transport_failure(exc)
    message = transport_message(failure, where, detail)
    if failure == "certificate" or (failure == "refused" and is_loopback(host)):
        return UnfixableTransportError(ErrorCode.NETWORK, message)
    return UTDStreamError(ErrorCode.NETWORK, message)


def parse_retry_after(header: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (delta-seconds form only), else None."""
    if header is None:
        return None
    seconds = parse_float(header)
    return max(seconds, 0.0) if seconds is not None else None


class CloseAction(enum.Enum):
    """What the supervisor does after a socket closed with some code."""

    NONE = "none"
    """The client asked for the close."""
    RECONNECT_NOW = "reconnect_now"
    """Reconnect at once (jittered within the base delay)."""
    BACKOFF = "backoff"
    """Reconnect after an exponential backoff."""
    REMINT_NOW = "remint_now"
    """Token rejected: mint a fresh one and reconnect at once (once in a row)."""
    TERMINAL = "terminal"
    """Stop: surface the error to the user."""


@dataclass(frozen=True, slots=True)
class CloseDecision:
    """The supervisor's decision for one close."""

    action: CloseAction
    floor: float = 0.0
    """Minimum delay before the next attempt, in seconds."""


def decide_close(code: int | None, *, previous_was_token_close: bool = False) -> CloseDecision:
    """Map a close code (None: the socket died without a close frame) to an action."""
    if code == v.CLOSE_NORMAL:
        return CloseDecision(CloseAction.NONE)
    if code == v.CLOSE_GOING_AWAY or code == v.CLOSE_HEARTBEAT_TIMEOUT:
        return CloseDecision(CloseAction.RECONNECT_NOW)
    if code == v.CLOSE_TOKEN_INVALID:
        if previous_was_token_close:
            return CloseDecision(CloseAction.BACKOFF)
        return CloseDecision(CloseAction.REMINT_NOW)
    if code == v.CLOSE_FORBIDDEN:
        return CloseDecision(CloseAction.TERMINAL)
    if code == v.CLOSE_RATE_LIMITED:
        return CloseDecision(CloseAction.BACKOFF, floor=v.RATE_LIMIT_CLOSE_FLOOR)
    return CloseDecision(CloseAction.BACKOFF)


def says_banned(text: str | None) -> bool:
    """Whether an engine's message says the identity is banned (the one test of it)."""
    return "banned" in (text or "").lower()


_CLOSE_KINDS = {
    v.CLOSE_TOKEN_INVALID: ErrorCode.UNAUTHORIZED,
    v.CLOSE_RATE_LIMITED: ErrorCode.RATE_LIMITED,
}


def close_error(code: int | None, reason: str | None) -> UTDStreamError:
    """The error a close code stands for (the one home of the close-code table, §5).

    4003 is BANNED when its reason says so, else FORBIDDEN: the contract allows a bare 4003
    for a ban, so the supervisor asks the engine (one mint) before reporting FORBIDDEN.
    4001 is UNAUTHORIZED, 4029 RATE_LIMITED, anything else NETWORK.
    """
    text = reason or "the engine closed the connection"
    if code == v.CLOSE_FORBIDDEN:
        kind = ErrorCode.BANNED if says_banned(text) else ErrorCode.FORBIDDEN
        return UTDStreamError(kind, text, status=code)
    return UTDStreamError(_CLOSE_KINDS.get(code or 0, ErrorCode.NETWORK), text, status=code)
