"""The pytest plugin and the package root import without the engine's dependencies."""

from __future__ import annotations

import subprocess
import sys

from utd_trio.testing import Engine

CHECK = """
import sys
import utd_trio.testing._pytest_plugin
from utd_trio.testing import ProjectConfig, OMIT
heavy = sorted(m for m in ("hypercorn", "starlette", "trustme") if m in sys.modules)
assert not heavy, heavy
from utd_trio.testing import open_engine
assert "hypercorn" in sys.modules
"""


def test_plugin_and_package_import_lazily() -> None:
    subprocess.run([sys.executable, "-c", CHECK], check=True, timeout=60)


async def test_fixtures_yield_running_engines(utd_engine: Engine, utd_engine_tls: Engine) -> None:
    assert utd_engine.base_url.startswith("http://127.0.0.1:")
    assert utd_engine_tls.base_url.startswith("https://127.0.0.1:")
    assert not utd_engine.tls
    assert utd_engine_tls.tls
    assert utd_engine.default_project.app_id == "app_test"
    assert utd_engine.default_project.app_key == "key_test"
    assert utd_engine.default_project.app_secret == "secret_test"
