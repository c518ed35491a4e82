"""Load the scripts of ``examples/`` as modules, and point them at an in-process engine."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from utd_trio.testing import Engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` (once) under the module name ``examples_<name>``."""
    module_name = f"examples_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def engine_args(engine: Engine) -> list[str]:
    """``--base-url/--app-id/--app-key`` of the engine's default project."""
    project = engine.default_project
    return ["--base-url", engine.base_url, "--app-id", project.app_id, "--app-key", project.app_key]
