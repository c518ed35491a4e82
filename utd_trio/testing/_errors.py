"""The error type domain handlers raise, and the JSON aliases the engine uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

__all__ = [
    "CHAT_DISABLED_MESSAGE",
    "SIGNALING_DISABLED_MESSAGE",
    "EngineError",
    "Gate",
    "JSONObject",
    "gate_error",
]

JSONObject: TypeAlias = dict[str, Any]
"""A decoded JSON object (frame ``data``, REST bodies)."""

Gate: TypeAlias = Literal["signaling", "chat"] | None
"""Which plan capability a handler needs; ``None`` = always allowed."""

SIGNALING_DISABLED_MESSAGE = "Signaling is not enabled for this plan"
CHAT_DISABLED_MESSAGE = "Messaging is not enabled for this plan"


class EngineError(Exception):
    """An error answer: a WebSocket ``error`` frame or a REST error response.

    On the WebSocket it becomes ``{"event": "error", "ref": ..., "data": {"status", "code",
    "message"}}``; over REST a ``{"message", "code"?}`` body with ``status``. ``headers`` are
    added to REST responses only (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> JSONObject:
        """Return the REST error body ``{"message", "code"?}``."""
        body: JSONObject = {"message": self.message}
        if self.code is not None:
            body["code"] = self.code
        return body

    def frame_data(self) -> JSONObject:
        """Return the ``data`` of a WebSocket ``error`` frame."""
        return {"status": self.status, "code": self.code or "error", "message": self.message}

    def __str__(self) -> str:
        return f"{self.status} {self.code or '-'}: {self.message}"


def gate_error(gate: Gate, signaling_enabled: bool | None, chat_enabled: bool | None) -> None:
    """Raise 403 ``feature_disabled`` if ``gate`` names a capability the plan turned off.

    ``None`` (unknown) lets the request through; only an explicit ``False`` blocks.
    """
    if gate == "signaling" and signaling_enabled is False:
        raise EngineError(403, "feature_disabled", SIGNALING_DISABLED_MESSAGE)
    if gate == "chat" and chat_enabled is False:
        raise EngineError(403, "feature_disabled", CHAT_DISABLED_MESSAGE)
