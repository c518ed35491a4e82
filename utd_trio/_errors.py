"""The one exception type of the SDK and its error codes."""

from __future__ import annotations

import enum

__all__ = ["ErrorCode", "UTDStreamError"]


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

    Attributes:
        code: the classified `ErrorCode`.
        status: the HTTP-like status (REST status or the ``status`` of a WebSocket error
            frame; a close code for terminal WebSocket closes), or None.
        message: human-readable text; never contains secrets.
        retry_after: seconds the engine asked us to wait (429 / 4029), or None.
        wire_code: the engine's own ``code`` string, when it sent one.
        capability: ``"signaling"`` or ``"chat"`` for `FEATURE_DISABLED`, else None.

    """

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


class UnfixableTransportError(UTDStreamError):
    """A ``NETWORK`` failure that retrying cannot fix.

    The certificate does not verify, or nothing listens at a loopback address.
    `open_signaling` fails at once on it while making the *first* connection (its message
    says what to do); later reconnects keep retrying, so an engine restart is survived.
    Catch `UTDStreamError`: this subclass is an implementation detail of that decision.
    """


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
