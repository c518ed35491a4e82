"""Fixtures of the channel tests (client side, against the reference engine on loopback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from utd_trio.testing import Engine


def _creds(engine: Engine, user: str = "alice", **extra: Any) -> dict[str, Any]:
    # Reconnects retry after at most 20 ms (backoff_base) so gap tests stay fast.
    return {**engine.signaling_kwargs(user), "backoff_base": 0.02, **extra}


@pytest.fixture
def creds() -> Callable[..., dict[str, Any]]:
    """``creds(engine, user="alice", **extra)`` → `open_signaling` keyword arguments."""
    return _creds
