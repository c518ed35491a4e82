"""Devices domain of the reference engine: push-token registration [protocol §4, §10].

``POST /api/v1/devices/push-token`` ``{"token", "platform", "provider"}`` registers a token
for the caller; ``DELETE`` (token in the body, or ``?token=`` for stacks that drop DELETE
bodies) forgets it. Both answer ``{"ok": true}``, are idempotent and are not gated by a plan
capability. A device token names one device, so it belongs to at most one user per project:
registering a token another user holds moves it to the caller. Unregistering a token the
caller does not hold (unknown, or another user's) is a successful no-op.

Tests inspect the registrations with ``engine.push_tokens(user_id)`` (or :func:`push_tokens`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ._errors import EngineError, JSONObject
from ._registry import Registry
from ._rest import RestContext
from ._state import UserKey

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = [
    "MAX_PUSH_TOKEN",
    "PLATFORMS",
    "PROVIDERS",
    "PushRegistration",
    "PushTokenStore",
    "install",
    "push_tokens",
]

PLATFORMS: Final = frozenset({"android", "ios", "web"})
"""Accepted ``platform`` values."""
PROVIDERS: Final = frozenset({"fcm", "apns", "voip"})
"""Accepted ``provider`` values."""
MAX_PUSH_TOKEN: Final = 4096
"""Longest accepted token, in characters."""

_PATH = "/api/v1/devices/push-token"


@dataclass(frozen=True)
class PushRegistration:
    """One registered device token."""

    token: str
    platform: str
    provider: str


class PushTokenStore:
    """Registered push tokens per project. Use as ``state.domain(PushTokenStore)``."""

    def __init__(self) -> None:
        self._owner: dict[tuple[str, str], str] = {}  # (app_id, token) -> user_id
        self._by_user: dict[UserKey, dict[str, PushRegistration]] = {}

    def register(self, app_id: str, user_id: str, registration: PushRegistration) -> None:
        """Register (or refresh) ``registration`` for ``user_id``, taking it from any other user."""
        previous = self._owner.get((app_id, registration.token))
        if previous is not None and previous != user_id:
            self.unregister(app_id, previous, registration.token)
        self._owner[(app_id, registration.token)] = user_id
        self._by_user.setdefault((app_id, user_id), {})[registration.token] = registration

    def unregister(self, app_id: str, user_id: str, token: str) -> bool:
        """Forget ``token`` if ``user_id`` holds it; return whether it did."""
        if self._owner.get((app_id, token)) != user_id:
            return False
        del self._owner[(app_id, token)]
        mine = self._by_user[(app_id, user_id)]
        del mine[token]
        if not mine:
            del self._by_user[(app_id, user_id)]
        return True

    def tokens_of(self, app_id: str, user_id: str) -> dict[str, PushRegistration]:
        """The user's registrations by token, in registration order."""
        return dict(self._by_user.get((app_id, user_id), {}))


def push_tokens(
    engine: Engine, user_id: str, app_id: str | None = None
) -> dict[str, PushRegistration]:
    """The push tokens ``user_id`` holds on ``engine``: same as ``engine.push_tokens``."""
    return engine.push_tokens(user_id, app_id)


def _invalid(message: str) -> EngineError:
    return EngineError(422, "invalid", message)


def _token(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("token must be a non-empty string")
    if len(value) > MAX_PUSH_TOKEN:
        raise _invalid(f"token is longer than {MAX_PUSH_TOKEN} characters")
    return value


def _choice(body: JSONObject, field: str, choices: frozenset[str]) -> str:
    value = body.get(field)
    if not isinstance(value, str) or value not in choices:
        raise _invalid(f"{field} must be one of {', '.join(sorted(choices))}")
    return value


async def _register(ctx: RestContext) -> JSONObject:
    body = await ctx.json()
    registration = PushRegistration(
        token=_token(body.get("token")),
        platform=_choice(body, "platform", PLATFORMS),
        provider=_choice(body, "provider", PROVIDERS),
    )
    ctx.state.domain(PushTokenStore).register(ctx.user.app_id, ctx.user.user_id, registration)
    return {"ok": True}


async def _unregister(ctx: RestContext) -> JSONObject:
    query = ctx.request.query_params.get("token")
    token = _token(query) if query is not None else _token((await ctx.json()).get("token"))
    ctx.state.domain(PushTokenStore).unregister(ctx.user.app_id, ctx.user.user_id, token)
    return {"ok": True}


def install(registry: Registry) -> None:
    """Register the push-token routes (bearer, not gated)."""
    registry.route(_PATH, _register, methods=["POST"])
    registry.route(_PATH, _unregister, methods=["DELETE"])
