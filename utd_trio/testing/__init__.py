"""Reference engine for UTD-Stream: a real HTTP + WebSocket server on loopback, for tests.

::

    from utd_trio.testing import open_engine

    async with open_engine() as engine:
        engine.base_url   # "http://127.0.0.1:PORT"
        engine.ws_url     # "ws://127.0.0.1:PORT/ws"

The engine needs the ``[engine]`` extra (hypercorn, starlette, trustme); those are imported
only when an engine name is first used, so the pytest plugin loads without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._project import OMIT as OMIT
from ._project import ProjectConfig as ProjectConfig

if TYPE_CHECKING:
    from ._control import EVERY as EVERY
    from ._control import KEEP as KEEP
    from ._engine import DEFAULT_PROJECT as DEFAULT_PROJECT
    from ._engine import Engine as Engine
    from ._engine import open_engine as open_engine
    from ._errors import EngineError as EngineError
    from ._registry import Registry as Registry
    from ._rest import RestContext as RestContext
    from ._session import Session as Session
    from ._state import EngineState as EngineState
    from ._state import EngineStats as EngineStats

__all__ = [
    "DEFAULT_PROJECT",
    "EVERY",
    "KEEP",
    "OMIT",
    "Engine",
    "EngineError",
    "EngineState",
    "EngineStats",
    "ProjectConfig",
    "Registry",
    "RestContext",
    "Session",
    "open_engine",
]

_LAZY = {
    "EVERY": "._control",
    "KEEP": "._control",
    "DEFAULT_PROJECT": "._engine",
    "Engine": "._engine",
    "open_engine": "._engine",
    "EngineError": "._errors",
    "Registry": "._registry",
    "RestContext": "._rest",
    "Session": "._session",
    "EngineState": "._state",
    "EngineStats": "._state",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name, __name__)
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            f"utd_trio.testing.{name} needs the engine extra: pip install 'utd-trio[engine]'"
        ) from error
    return getattr(module, name)
