"""Every Python snippet of README.md and docs/ runs against the reference engine.

See `tests/docs/_snippets.py` for the convention. A snippet is skipped only when it is
explicitly marked ``<!-- snippet: no-run -->``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from ._snippets import ROOT, Snippet, all_snippets, extract, run_snippet

SNIPPETS = all_snippets()


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.id for s in SNIPPETS])
async def test_snippet_runs(snippet: Snippet) -> None:
    if snippet.skip:
        pytest.skip(f"{snippet.id} is marked no-run")
    with trio.fail_after(snippet.timeout):
        await run_snippet(snippet)


def test_readme_has_a_runnable_snippet() -> None:
    readme = extract(ROOT / "README.md")
    assert any(not s.skip for s in readme)


def test_no_run_markers_stay_rare() -> None:
    skipped = [s.id for s in SNIPPETS if s.skip]
    assert len(skipped) <= max(3, len(SNIPPETS) // 10), skipped


def test_extractor_reads_markers_and_ignores_other_languages(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```bash\nuv run pytest\n```\n\n"
        "<!-- snippet: no-run -->\n```python\nraise SystemExit\n```\n\n"
        '<!-- snippet: timeout=5 engine=none -->\n```python title="x.py"\nx = 1\n```\n\n'
        "!!! note\n    ```python\n    y = 2\n    ```\n",
        encoding="utf-8",
    )
    found = extract(page)
    assert [(s.line, s.skip, s.timeout, s.engine_kind) for s in found] == [
        (8, True, 20.0, "plain"),
        (13, False, 5.0, "none"),
        (18, False, 20.0, "plain"),
    ]
    assert found[2].source == "y = 2\n"


async def test_a_failing_snippet_fails(tmp_path: Path) -> None:
    page = tmp_path / "bad.md"
    page.write_text(
        "<!-- snippet: engine=none -->\n```python\nassert 1 == 2\n```\n", encoding="utf-8"
    )
    (snippet,) = extract(page)
    with pytest.raises(AssertionError):
        await run_snippet(snippet)


async def test_main_gets_the_names_it_asks_for(tmp_path: Path) -> None:
    page = tmp_path / "main.md"
    page.write_text(
        "```python\nseen = []\n\nasync def main(base_url, app_id):\n"
        "    assert base_url.startswith('http://127.0.0.1:')\n    assert app_id == 'app_test'\n"
        "    raise KeyError('ran')\n```\n",
        encoding="utf-8",
    )
    (snippet,) = extract(page)
    with pytest.raises(KeyError, match="ran"):
        await run_snippet(snippet)


async def test_an_asyncio_block_runs_under_asyncio_run(tmp_path: Path) -> None:
    page = tmp_path / "aio.md"
    page.write_text(
        "```python\nimport asyncio\n\nasync def main(base_url):\n"
        "    asyncio.get_running_loop()\n    raise KeyError('ran on asyncio')\n\n"
        "if __name__ == '__main__':\n    asyncio.run(main('x'))\n```\n\n"
        "<!-- snippet: engine=none loop=trio -->\n```python\nx = 'asyncio.run('\n```\n",
        encoding="utf-8",
    )
    aio, forced = extract(page)
    assert (aio.loop, forced.loop) == ("asyncio", "trio")
    with pytest.raises(KeyError, match="ran on asyncio"):
        await run_snippet(aio)
