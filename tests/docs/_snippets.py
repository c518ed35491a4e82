"""Extract the fenced Python snippets of README.md and docs/**/*.md, and run one.

The convention (documented in docs/contributing-docs.md and in the README's development
section):

- Every ```` ```python ```` block is executed by ``tests/docs/test_snippets.py``.
- A block that defines ``async def main(...)`` is run by calling ``main`` with the names it
  asks for, taken from a reference engine started for that block: ``base_url``, ``app_id``,
  ``app_key``, ``app_secret``, ``engine``. Guard any ``trio.run(main, ...)`` with
  ``if __name__ == "__main__":`` (the block does not run as ``__main__``).
- A block that defines ``test_*`` coroutine functions has each called with the pytest
  fixtures it names (``utd_engine``, ``utd_engine_tls``, ``autojump_clock``), like pytest
  would: a test asking for ``autojump_clock`` runs in a ``trio.run`` of its own with a
  ``MockClock(autojump_threshold=0)``, the engine fixture inside it.
- Any other block runs as a script body where top-level ``await`` / ``async with`` is allowed
  and ``base_url``, ``app_id``, ``app_key``, ``app_secret`` and ``engine`` are predefined (the
  hidden prelude). So a fragment may use them without defining them.
- An HTML comment on the line before the fence tunes a block, e.g.
  ``<!-- snippet: no-run -->`` (skipped, reported as skipped: keep these rare),
  ``<!-- snippet: timeout=30 -->``, ``<!-- snippet: engine=tls -->`` (an HTTPS/WSS engine;
  ``ssl_context`` is then predefined too; a block naming the ``utd_engine_tls`` fixture gets
  one without the marker), ``<!-- snippet: engine=none -->`` (no engine).
  ``<!-- snippet: loop=asyncio -->`` (or ``loop=uvloop``: see below).
  Options combine: ``<!-- snippet: timeout=30 engine=tls -->``.
- A block that calls ``asyncio.run(`` (or ``uvloop.run(``), guarded or not, is an asyncio
  block: its body and its ``main`` run under ``asyncio.run`` (``uvloop.run``) in a worker
  thread, the engine staying on the test's Trio loop (they only meet over loopback sockets).
  ``loop=trio|asyncio|uvloop`` overrides the guess. ``test_*`` functions are Trio-only.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio.testing

from utd_trio.testing import Engine, open_engine

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 20.0

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<opts>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Snippet:
    """One fenced Python block of a Markdown file."""

    path: Path
    line: int
    source: str
    options: dict[str, str] = field(default_factory=dict[str, str])

    @property
    def id(self) -> str:
        """``docs/page.md:LINE`` (the line of the opening fence)."""
        return f"{_display(self.path)}:{self.line}"

    @property
    def skip(self) -> bool:
        """Marked ``no-run``."""
        return "no-run" in self.options

    @property
    def timeout(self) -> float:
        """Seconds the block may take (``timeout=N``)."""
        return float(self.options.get("timeout", DEFAULT_TIMEOUT))

    @property
    def loop(self) -> str:
        """``trio`` (default), ``asyncio`` or ``uvloop`` (guessed from ``asyncio.run(``)."""
        if "uvloop.run(" in self.source:
            default = "uvloop"
        elif "asyncio.run(" in self.source:
            default = "asyncio"
        else:
            default = "trio"
        return self.options.get("loop", default)

    @property
    def engine_kind(self) -> str:
        """``plain`` (default), ``tls`` (default if it names ``utd_engine_tls``) or ``none``."""
        default = "tls" if "utd_engine_tls" in self.source else "plain"
        return self.options.get("engine", default)


def _display(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def _parse_options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for word in text.split():
        key, _, value = word.partition("=")
        options[key] = value
    return options


def markdown_files() -> list[Path]:
    """README.md and every Markdown page under docs/, sorted."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def extract(path: Path) -> list[Snippet]:
    """The ``python`` blocks of one Markdown file (other languages are ignored)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    snippets: list[Snippet] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        language = (match["info"].split() or [""])[0].lower()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].strip().startswith(fence):
            text = lines[i]
            body.append(text[indent:] if text[:indent].strip() == "" else text.lstrip())
            i += 1
        i += 1  # the closing fence
        if language not in ("python", "py"):
            continue
        options: dict[str, str] = {}
        if start > 0 and (marker := _MARKER.match(lines[start - 1])):
            options = _parse_options(marker["opts"])
        snippets.append(Snippet(path, start + 1, "\n".join(body) + "\n", options))
    return snippets


def all_snippets() -> list[Snippet]:
    """Every Python snippet of the README and the docs."""
    return [snippet for path in markdown_files() for snippet in extract(path)]


def _call_with(fn: Callable[..., Any], available: dict[str, Any], what: str) -> Any:
    names = list(inspect.signature(fn).parameters)
    missing = [name for name in names if name not in available]
    if missing:
        raise TypeError(f"{what} asks for {missing}; snippets may ask for {sorted(available)}")
    return fn(**{name: available[name] for name in names})


async def _run_in(snippet: Snippet, engine: Engine | None) -> None:
    prelude: dict[str, Any] = {}
    if engine is not None:
        project = engine.default_project
        prelude = {
            "engine": engine,
            "base_url": engine.base_url,
            "app_id": project.app_id,
            "app_key": project.app_key,
            "app_secret": project.app_secret,
        }
        if engine.tls:
            prelude["ssl_context"] = engine.client_ssl_context()
    if snippet.loop != "trio":
        run = functools.partial(_run_on_asyncio, snippet, prelude)
        await trio.to_thread.run_sync(run, abandon_on_cancel=True)
        return
    namespace = await _exec(snippet, prelude)
    fixtures: dict[str, Any] = {}
    if engine is not None:
        fixtures["utd_engine_tls" if engine.tls else "utd_engine"] = engine
    for name, value in list(namespace.items()):
        if not (name.startswith("test_") and inspect.iscoroutinefunction(value)):
            continue
        what = f"{snippet.id}: {name}()"
        if "autojump_clock" in inspect.signature(value).parameters:
            await _run_with_autojump(value, snippet, what)
        else:
            await _call_with(value, fixtures, what)


async def _exec(snippet: Snippet, prelude: dict[str, Any]) -> dict[str, Any]:
    """Run the block's body, then its ``main`` if it has one; on whatever loop is running."""
    namespace: dict[str, Any] = {"__name__": "snippet", **prelude}
    code = compile(
        snippet.source, snippet.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    result = eval(code, namespace)  # the snippet is the project's own documentation
    if inspect.iscoroutine(result):
        await result
    main = namespace.get("main")
    if inspect.iscoroutinefunction(main):
        await _call_with(main, prelude, f"{snippet.id}: main()")
    return namespace


def _run_on_asyncio(snippet: Snippet, prelude: dict[str, Any]) -> None:
    """Run an asyncio block in ``asyncio.run`` (or ``uvloop.run``), with its own deadline."""
    import asyncio

    async def body() -> None:
        async with asyncio.timeout(snippet.timeout):
            namespace = await _exec(snippet, prelude)
        tests = [name for name in namespace if name.startswith("test_")]
        assert not tests, f"{snippet.id}: test functions run on Trio only: {tests}"

    if snippet.loop == "uvloop":
        import uvloop

        uvloop.run(body())
    elif snippet.loop == "asyncio":
        asyncio.run(body())
    else:
        raise ValueError(f"{snippet.id}: unknown loop {snippet.loop!r}")


async def _run_with_autojump(test: Callable[..., Any], snippet: Snippet, what: str) -> None:
    """Run a test asking for ``autojump_clock`` in its own ``trio.run`` with a MockClock.

    Like pytest-trio does: the clock (and so the engine fixture) belongs to that run, which
    gets a worker thread of its own.
    """

    async def body() -> None:
        clock = trio.lowlevel.current_clock()
        async with open_engine(tls=snippet.engine_kind == "tls") as engine:
            fixture = "utd_engine_tls" if engine.tls else "utd_engine"
            await _call_with(test, {fixture: engine, "autojump_clock": clock}, what)

    def run() -> None:
        trio.run(body, clock=trio.testing.MockClock(autojump_threshold=0))

    await trio.to_thread.run_sync(run, abandon_on_cancel=True)


async def run_snippet(snippet: Snippet) -> None:
    """Run one snippet against a fresh reference engine (see the module docstring)."""
    if snippet.engine_kind == "none":
        await _run_in(snippet, None)
        return
    async with open_engine(tls=snippet.engine_kind == "tls") as engine:
        await _run_in(snippet, engine)


__all__ = ["Snippet", "all_snippets", "extract", "run_snippet"]
