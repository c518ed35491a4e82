"""Shared helpers of the security tests."""

from __future__ import annotations

from typing import Any

from utd_trio.testing import Engine

IO = 10
"""Deadline (seconds) of every I/O test."""


def creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    """Keyword arguments of `open_signaling` for the engine's default project."""
    project = engine.default_project
    kwargs: dict[str, Any] = {
        "app_id": project.app_id,
        "app_key": project.app_key,
        "user_id": user,
        "base_url": engine.base_url,
    }
    if engine.tls:
        kwargs["ssl_context"] = engine.client_ssl_context()
    kwargs.update(extra)
    return kwargs
