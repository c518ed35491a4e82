"""Project configuration of the reference engine and the capability snapshot it puts on the wire.

Stdlib only: importing this module never needs the ``[engine]`` extra.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "DEFAULT_LIMITS",
    "OMIT",
    "Omit",
    "ProjectConfig",
    "apply_overrides",
    "capability_snapshot",
    "plan_fields",
]


class Omit(enum.Enum):
    """Type of :data:`OMIT`."""

    OMIT = "OMIT"

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = Omit.OMIT
"""Value for :attr:`ProjectConfig.wire_overrides` that removes a key from the wire body."""

DEFAULT_LIMITS: Final[Mapping[str, int | None]] = {
    "history_days": 30,
    "max_group_members": 256,
    "max_friends": 1000,
    "max_chatrooms": 50,
}
"""The plan limits a project gets unless it says otherwise."""

# Keys of the mint body that are not capabilities: never part of `capabilities.updated`.
_SESSION_KEYS: Final = frozenset({"user_token", "ws_url", "expires_in"})


def _default_limits() -> Mapping[str, int | None]:
    return dict(DEFAULT_LIMITS)


@dataclass(frozen=True)
class ProjectConfig:
    """One project (tenant) of the reference engine.

    ``signaling_enabled`` / ``chat_enabled``: ``None`` means the mint *omits* the flag (the
    client must treat it as unknown) and the engine's gate lets the feature through.
    ``limits``: ``None`` omits ``limits`` from the mint; a key mapped to ``None`` is sent as
    ``null``; a missing key is not sent.

    ``wire_overrides`` is merged last into the mint body and into ``capabilities.updated``
    (session keys ``user_token``/``ws_url``/``expires_in`` only into the mint). Use it to send
    odd wire types (``"true"``, ``1``, ``"30"``, ``30.0``, ``None``), camelCase keys, or to
    remove a key with :data:`OMIT`. A ``limits`` override replaces the whole ``limits`` value.
    """

    app_id: str
    """Public project id (``X-App-Id``)."""
    app_key: str
    """Publishable key for development mints (``X-App-Key``)."""
    app_secret: str
    """Server secret for production mints (``X-App-Secret``)."""
    signaling_enabled: bool | None = True
    """Plan flag for signalling (presence, calls); ``None`` = omitted from the wire."""
    chat_enabled: bool | None = True
    """Plan flag for chat (sent as ``messaging_enabled``); ``None`` = omitted."""
    limits: Mapping[str, int | None] | None = field(default_factory=_default_limits)
    """Plan limits; ``None`` = ``limits`` omitted from the wire."""
    allow_appkey_identity_mint: bool = True
    """``False`` = hardened project: app-key mints get 403 ``appkey_identity_mint_disabled``."""
    wire_overrides: Mapping[str, object] | None = None
    """Raw keys merged into the wire body last (see the class docstring)."""

    def __post_init__(self) -> None:
        for name in ("app_id", "app_key", "app_secret"):
            value: object = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"ProjectConfig.{name} must be a non-empty string")

    def __repr__(self) -> str:
        # Never show the key or the secret.
        return (
            f"ProjectConfig(app_id={self.app_id!r}, signaling_enabled={self.signaling_enabled!r}, "
            f"chat_enabled={self.chat_enabled!r}, limits={self.limits!r}, "
            f"allow_appkey_identity_mint={self.allow_appkey_identity_mint!r})"
        )


def plan_fields(project: ProjectConfig) -> dict[str, Any]:
    """Return the plan part of the mint body, before ``wire_overrides``."""
    body: dict[str, Any] = {}
    if project.signaling_enabled is not None:
        body["signaling_enabled"] = project.signaling_enabled
    if project.chat_enabled is not None:
        body["messaging_enabled"] = project.chat_enabled
    if project.limits is not None:
        body["limits"] = dict(project.limits)
    return body


def capability_snapshot(project: ProjectConfig) -> dict[str, Any]:
    """Return the data of ``capabilities.updated``: the mint's plan fields, overrides applied."""
    return apply_overrides(project, plan_fields(project), session=False)


def apply_overrides(
    project: ProjectConfig, body: dict[str, Any], *, session: bool
) -> dict[str, Any]:
    """Merge ``project.wire_overrides`` into ``body`` (in place) and return it."""
    for key, value in (project.wire_overrides or {}).items():
        if not session and key in _SESSION_KEYS:
            continue
        if value is OMIT:
            body.pop(key, None)
        else:
            body[key] = value
    return body
