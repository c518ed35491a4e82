"""Fixtures of the chat tests (messages, receipts, typing, history, recovery over loopback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from utd_trio.testing import Engine


def _creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    """Keyword arguments of `open_signaling` for the engine's default project.

    Reconnects retry after at most 20 ms (``backoff_base``) so gap tests stay fast.
    """
    project = engine.default_project
    return {
        "backoff_base": 0.02,
        "app_id": project.app_id,
        "app_key": project.app_key,
        "user_id": user,
        "base_url": engine.base_url,
        **extra,
    }


@pytest.fixture
def creds() -> Callable[..., dict[str, Any]]:
    """``creds(engine, user="alice", **extra)`` → `open_signaling` keyword arguments."""
    return _creds
