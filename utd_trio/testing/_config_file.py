"""Engine configuration files (contract §12): several projects, banned users and engine timers.

::

    {"projects": [{"app_id": "a1", "app_key": "k1", "app_secret": "s1",
                   "signaling_enabled": true, "messaging_enabled": "absent",
                   "limits": {"max_group_members": 5}, "allow_appkey_identity_mint": true}],
     "banned": {"a1": ["mallory"]}, "heartbeat_interval": 25, "ring_timeout": 30,
     "token_ttl": 3600, "mint_rate_limit": 120}

A flag is ``true``, ``false`` or ``"absent"`` (omitted from mints: unknown to clients) and
defaults to ``true``; ``limits: null`` sends no limits object, a missing ``limits`` the default
plan limits. Unknown keys are refused, so a typo is an error rather than a silent default.
Stdlib only: importing this module never needs the ``[engine]`` extra.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from ._project import DEFAULT_LIMITS, ProjectConfig

__all__ = ["ConfigError", "EngineConfig", "load_config", "parse_config"]

_PROJECT_KEYS: Final = frozenset(
    {
        "app_id",
        "app_key",
        "app_secret",
        "signaling_enabled",
        "messaging_enabled",
        "limits",
        "allow_appkey_identity_mint",
    }
)
_TIMERS: Final = ("heartbeat_interval", "ring_timeout", "token_ttl")
_TOP_KEYS: Final = frozenset({"projects", "banned", "mint_rate_limit", *_TIMERS})


class ConfigError(ValueError):
    """An unreadable or invalid configuration file; the message says where and why."""


@dataclass(frozen=True)
class EngineConfig:
    """What a configuration file holds: ``open_engine`` arguments plus the banned users."""

    projects: tuple[ProjectConfig, ...]
    """The projects, the first being the default one."""
    banned: tuple[tuple[str, str], ...] = ()
    """``(app_id, user_id)`` pairs banned from the start."""
    timers: Mapping[str, float] = field(default_factory=dict[str, float])
    """The timers the file sets (``heartbeat_interval``, ``ring_timeout``, ``token_ttl``)."""
    mint_rate_limit: int | None = 120
    """Mints per identity per minute (``None`` = unlimited)."""
    sets_mint_rate_limit: bool = False
    """Whether the file set ``mint_rate_limit`` (else the engine default applies)."""


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, "must be a JSON object")
    return cast(dict[str, Any], value)


def _check_keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(unknown)}")


def _string(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}.{key}", "must be a non-empty string")
    return value


def _flag(raw: Mapping[str, Any], key: str, where: str) -> bool | None:
    value = raw.get(key, True)
    if value == "absent":
        return None
    if not isinstance(value, bool):
        raise _fail(f"{where}.{key}", 'must be true, false or "absent"')
    return value


def _limits(raw: Mapping[str, Any], where: str) -> Mapping[str, int | None] | None:
    if "limits" not in raw:
        return dict(DEFAULT_LIMITS)
    value = raw["limits"]
    if value is None:
        return None
    limits: dict[str, int | None] = {}
    for key, item in _object(value, f"{where}.limits").items():
        if item is not None and (isinstance(item, bool) or not isinstance(item, int) or item < 0):
            raise _fail(f"{where}.limits.{key}", "must be a non-negative integer or null")
        limits[key] = item
    return limits


def _project(value: object, where: str) -> ProjectConfig:
    raw = _object(value, where)
    _check_keys(raw, _PROJECT_KEYS, where)
    hardened = raw.get("allow_appkey_identity_mint", True)
    if not isinstance(hardened, bool):
        raise _fail(f"{where}.allow_appkey_identity_mint", "must be true or false")
    return ProjectConfig(
        app_id=_string(raw, "app_id", where),
        app_key=_string(raw, "app_key", where),
        app_secret=_string(raw, "app_secret", where),
        signaling_enabled=_flag(raw, "signaling_enabled", where),
        chat_enabled=_flag(raw, "messaging_enabled", where),
        limits=_limits(raw, where),
        allow_appkey_identity_mint=hardened,
    )


def _banned(value: object, app_ids: set[str]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for app_id, users in _object(value, "banned").items():
        if app_id not in app_ids:
            raise _fail(f"banned.{app_id}", "is not one of the projects")
        if not isinstance(users, list):
            raise _fail(f"banned.{app_id}", "must be a list of user ids")
        for user in cast(list[object], users):
            if not isinstance(user, str) or not user:
                raise _fail(f"banned.{app_id}", "must be a list of non-empty strings")
            pairs.append((app_id, user))
    return tuple(pairs)


def parse_config(document: object) -> EngineConfig:
    """Check a decoded configuration document and return it as an :class:`EngineConfig`."""
    raw = _object(document, "the file")
    _check_keys(raw, _TOP_KEYS, "the file")
    items = raw.get("projects")
    if not isinstance(items, list) or not items:
        raise _fail("projects", "must be a non-empty list of projects")
    projects = tuple(
        _project(item, f"projects[{i}]") for i, item in enumerate(cast(list[object], items))
    )
    app_ids = [p.app_id for p in projects]
    duplicates = sorted({a for a in app_ids if app_ids.count(a) > 1})
    if duplicates:
        raise _fail("projects", f"app_id {duplicates[0]!r} appears more than once")
    timers: dict[str, float] = {}
    for name in _TIMERS:
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _fail(name, "must be a number of seconds")
            if not math.isfinite(value) or value <= 0:
                raise _fail(name, "must be a positive number of seconds")
            timers[name] = float(value)
    rate = raw.get("mint_rate_limit", 120)
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int) or rate < 0):
        raise _fail("mint_rate_limit", "must be a non-negative integer (0 = unlimited) or null")
    return EngineConfig(
        projects=projects,
        banned=_banned(raw.get("banned", {}), set(app_ids)),
        timers=timers,
        mint_rate_limit=rate or None,
        sets_mint_rate_limit="mint_rate_limit" in raw,
    )


def load_config(path: str | Path) -> EngineConfig:
    """Read and check a configuration file; :class:`ConfigError` says what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    try:
        document: object = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply") from None
    try:
        return parse_config(document)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
