"""The SDK's exceptions: `UTDStreamError`, its error codes and one subclass per family.

`UTDStreamError(code, message, ...)` is the one constructor used everywhere; it returns the
family subclass that `code` belongs to (`_FAMILIES`, the one code → class table), so a call
site cannot pick a class that disagrees with its code.
"""

from __future__ import annotations

import enum
from typing import Any, Self, cast

__all__ = [
    "Banned",
    "Conflict",
    "ConnectionFailed",
    "ErrorCode",
    "FeatureDisabled",
    "Forbidden",
    "IdentityMintDisabled",
    "InvalidRequest",
    "LimitExceeded",
    "NotFound",
    "ProtocolError",
    "RateLimited",
    "ServerError",
    "SessionClosed",
    "TimedOut",
    "UTDStreamError",
    "Unauthorized",
    "UnfixableTransportError",
]


class ErrorCode(enum.StrEnum):
    """What went wrong, independent of transport (REST status or WebSocket error frame)."""

    LIMIT_EXCEEDED = "limit_exceeded"
    """A plan limit was hit (group members, chatrooms)."""
    BANNED = "banned"
    """The identity is banned."""
    IDENTITY_MINT_DISABLED = "identity_mint_disabled"
    """The project refuses app-key mints; use a server-signed session provider."""
    FEATURE_DISABLED = "feature_disabled"
    """The capability (signaling or chat) is not enabled for the plan."""
    FORBIDDEN = "forbidden"
    """Not allowed (not your call, group or role; project suspended)."""
    UNAUTHORIZED = "unauthorized"
    """Bad credentials, or a missing or expired token."""
    NOT_FOUND = "not_found"
    """Unknown call, group, conversation or event."""
    CONFLICT = "conflict"
    """Wrong state, e.g. the callee is busy or the call was already answered."""
    INVALID = "invalid"
    """The request was rejected as invalid (422) or too large (413)."""
    RATE_LIMITED = "rate_limited"
    """Too many requests; see `UTDStreamError.retry_after`."""
    SERVER = "server"
    """The engine failed (5xx)."""
    NETWORK = "network"
    """The transport failed: connection refused, reset, TLS failure, closed socket."""
    TIMEOUT = "timeout"
    """No reply in time."""
    PROTOCOL = "protocol"
    """The peer sent data that breaks the wire contract."""
    CLOSED = "closed"
    """The connection was closed by the user; the operation cannot complete."""


class UTDStreamError(Exception):
    """An error from the UTD-Stream engine or the transport to it.

    `except UTDStreamError` catches every failure of the SDK. Each instance is of the family
    subclass its `code` belongs to (`ConnectionFailed`, `TimedOut`, `Forbidden`, `Banned`…),
    so ``except`` can be as precise as needed; ``UTDStreamError(code, message)`` itself
    returns that subclass.

    Attributes:
        code: the classified `ErrorCode`.
        status: the HTTP-like status (REST status or the ``status`` of a WebSocket error
            frame; a close code for terminal WebSocket closes), or None.
        message: human-readable text; never contains secrets.
        retry_after: seconds the engine asked us to wait (429 / 4029), or None.
        wire_code: the engine's own ``code`` string, when it sent one.
        capability: ``"signaling"`` or ``"chat"`` for `FEATURE_DISABLED`, else None.

    Raises:
        ValueError: when a family subclass is given a code of another family (e.g.
            ``Forbidden(ErrorCode.TIMEOUT, ...)``).

    """

    code: ErrorCode
    message: str
    status: int | None
    retry_after: float | None
    wire_code: str | None
    capability: str | None

    def __new__(
        cls,
        code: ErrorCode,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        wire_code: str | None = None,
        capability: str | None = None,
    ) -> Self:
        """Create the error as the class of ``code``'s family (see `UTDStreamError`)."""
        chosen = _class_for(cls, code)
        # The next __new__ after ours in the chosen class's MRO: OSError's for the families
        # that are also builtin OSErrors, BaseException's for the others.
        return cast("Self", super(UTDStreamError, chosen).__new__(chosen, message))

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        wire_code: str | None = None,
        capability: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.wire_code = wire_code
        self.capability = capability

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy support: rebuilt from the code and message, then the attributes."""
        return (type(self), (self.code, self.message), dict(self.__dict__))

    def __str__(self) -> str:
        where = f" (status {self.status})" if self.status is not None else ""
        return f"[{self.code.value}] {self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"UTDStreamError(code={self.code.value!r}, status={self.status!r}, "
            f"message={self.message!r}, retry_after={self.retry_after!r})"
        )

    @property
    def is_feature_disabled(self) -> bool:
        """True when a capability (signaling or chat) is not enabled for the plan."""
        return self.code is ErrorCode.FEATURE_DISABLED

    @property
    def is_signaling_disabled(self) -> bool:
        """True when the signaling capability (calls, presence) is not enabled."""
        return self.is_feature_disabled and self.capability == "signaling"

    @property
    def is_chat_disabled(self) -> bool:
        """True when the chat capability (messages, groups, history) is not enabled."""
        return self.is_feature_disabled and self.capability == "chat"

    @property
    def is_forbidden(self) -> bool:
        """True for every 403-class refusal, feature-disabled and banned included."""
        return self.code in _FORBIDDEN_CODES

    @property
    def is_banned(self) -> bool:
        """True when the identity is banned."""
        return self.code is ErrorCode.BANNED

    @property
    def is_unauthorized(self) -> bool:
        """True for bad credentials or a missing / expired token."""
        return self.code is ErrorCode.UNAUTHORIZED

    @property
    def is_rate_limited(self) -> bool:
        """True when the engine asked us to slow down."""
        return self.code is ErrorCode.RATE_LIMITED

    @property
    def is_terminal(self) -> bool:
        """True when reconnecting cannot help (the supervisor stops on these)."""
        return self.code in _TERMINAL_CODES


class ConnectionFailed(UTDStreamError, ConnectionError):
    """``NETWORK``: the transport failed (refused, reset, TLS, the socket lost mid-request).

    Also a builtin `ConnectionError` (hence an `OSError`), so ``except ConnectionError``
    catches it as it catches a refused socket.
    """


class UnfixableTransportError(ConnectionFailed):
    """A ``NETWORK`` failure that retrying cannot fix.

    The certificate does not verify, or nothing listens at a loopback address.
    `open_signaling` fails at once on it while making the *first* connection (its message
    says what to do); later reconnects keep retrying, so an engine restart is survived.
    Catch `ConnectionFailed` or `UTDStreamError`: this subclass is an implementation detail
    of that decision.
    """


class TimedOut(UTDStreamError, TimeoutError):
    """``TIMEOUT``: no reply (or no connection) in time.

    Also a builtin `TimeoutError`, so ``except TimeoutError`` catches it.
    """


class SessionClosed(UTDStreamError):
    """``CLOSED``: the session (or the channel) was closed by you; the operation cannot complete."""


class Unauthorized(UTDStreamError):
    """``UNAUTHORIZED``: bad app id, key or secret, or a missing or expired token (401, 4001)."""


class Forbidden(UTDStreamError):
    """``FORBIDDEN`` and the base of every 403-class refusal (`UTDStreamError.is_forbidden`).

    Its subclasses are `Banned`, `FeatureDisabled`, `IdentityMintDisabled` and
    `LimitExceeded`; a bare `Forbidden` is "not your call, group or role" or a suspended
    project (403, close 4003).
    """


class Banned(Forbidden):
    """``BANNED``: the identity is banned (terminal: the session stops)."""


class FeatureDisabled(Forbidden):
    """``FEATURE_DISABLED``: the plan lacks a capability.

    `UTDStreamError.capability` (and `is_signaling_disabled` / `is_chat_disabled`) say which.
    """


class IdentityMintDisabled(Forbidden):
    """``IDENTITY_MINT_DISABLED``: the project refuses app-key mints; use a session provider."""


class LimitExceeded(Forbidden):
    """``LIMIT_EXCEEDED``: a plan limit was hit (group members, chatrooms, upload quota)."""


class NotFound(UTDStreamError):
    """``NOT_FOUND``: unknown call, group, conversation or event (404)."""


class Conflict(UTDStreamError):
    """``CONFLICT``: wrong state, e.g. the callee is busy or the call was answered (409)."""


class InvalidRequest(UTDStreamError):
    """``INVALID``: the engine rejected the request as invalid (400, 422) or too large (413)."""


class RateLimited(UTDStreamError):
    """``RATE_LIMITED``: too many requests (429, close 4029); see `retry_after`."""


class ServerError(UTDStreamError):
    """``SERVER``: the engine failed (5xx)."""


class ProtocolError(UTDStreamError):
    """``PROTOCOL``: the peer sent data that breaks the wire contract (or a bad reply shape)."""


_FAMILIES: dict[ErrorCode, type[UTDStreamError]] = {
    ErrorCode.LIMIT_EXCEEDED: LimitExceeded,
    ErrorCode.BANNED: Banned,
    ErrorCode.IDENTITY_MINT_DISABLED: IdentityMintDisabled,
    ErrorCode.FEATURE_DISABLED: FeatureDisabled,
    ErrorCode.FORBIDDEN: Forbidden,
    ErrorCode.UNAUTHORIZED: Unauthorized,
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.CONFLICT: Conflict,
    ErrorCode.INVALID: InvalidRequest,
    ErrorCode.RATE_LIMITED: RateLimited,
    ErrorCode.SERVER: ServerError,
    ErrorCode.NETWORK: ConnectionFailed,
    ErrorCode.TIMEOUT: TimedOut,
    ErrorCode.PROTOCOL: ProtocolError,
    ErrorCode.CLOSED: SessionClosed,
}
"""The one code → class table: every `ErrorCode` has exactly one family class."""

_FAMILY_CLASSES = frozenset(_FAMILIES.values())


def _class_for(cls: type[UTDStreamError], code: ErrorCode) -> type[UTDStreamError]:
    """The class an error of ``code`` is created as when ``cls`` was called.

    The base class (or a broader family, e.g. `Forbidden` for ``BANNED``) gives the code's
    own class; a class below the code's family (`UnfixableTransportError`) stays itself; a
    family class with another family's code is refused. A subclass of the base that is no
    family (a user's own) is left alone.
    """
    family = _FAMILIES.get(code)
    if family is None:
        return cls
    own = next((c for c in cls.__mro__ if c in _FAMILY_CLASSES), None)
    if own is family:
        return cls
    if issubclass(family, cls):
        return family
    if own is None:
        return cls
    raise ValueError(f"{cls.__name__} cannot carry the code {code!s}")


_FORBIDDEN_CODES = frozenset(
    {
        ErrorCode.FORBIDDEN,
        ErrorCode.FEATURE_DISABLED,
        ErrorCode.BANNED,
        ErrorCode.IDENTITY_MINT_DISABLED,
        ErrorCode.LIMIT_EXCEEDED,
    }
)
_TERMINAL_CODES = frozenset(
    {ErrorCode.BANNED, ErrorCode.IDENTITY_MINT_DISABLED, ErrorCode.FORBIDDEN}
)
