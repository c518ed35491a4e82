"""Shared helpers of the security tests."""

from __future__ import annotations

from typing import Any

from utd_trio.testing import Engine

IO = 10
"""Deadline (seconds) of every I/O test."""


def creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    """Keyword arguments of `open_signaling` for the engine's default project."""
    return {**engine.signaling_kwargs(user), **extra}
