"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from ._helpers import Tap


@pytest.fixture
def tap() -> Tap:
    """Where `run_cli` sends the command's stdout when given it."""
    return Tap()


@pytest.fixture(autouse=True)
def _no_utd_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``UTD_*`` variables of the developer's shell must not leak into the tests."""
    for name in ("UTD_BASE_URL", "UTD_APP_ID", "UTD_APP_KEY", "UTD_APP_SECRET", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
