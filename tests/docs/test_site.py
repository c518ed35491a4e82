"""The documentation site builds with the README's command, the one CI runs too."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ._snippets import ROOT, extract

README_COMMAND = "uv run nox -s docs"


def test_readme_and_ci_name_the_same_docs_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"`{README_COMMAND}`" in readme
    assert re.search(rf"^{re.escape(README_COMMAND)}$", ci, re.MULTILINE), ci


@pytest.mark.slow
def test_the_site_builds_as_the_readme_says(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH (the README's command needs it)")
    site = tmp_path / "site"
    argv = [uv, *README_COMMAND.split()[1:], "--", "--site-dir", str(site)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "index.html").is_file()
    assert (site / "reliability" / "index.html").is_file()
    check_api_reference(site)
    check_mermaid_is_local(site)


def check_api_reference(site: Path) -> None:
    """The reference shows the public surface only, as a reader should see it."""
    api = (site / "reference" / "utd_trio" / "index.html").read_text(encoding="utf-8")
    testing = (site / "reference" / "testing" / "index.html").read_text(encoding="utf-8")
    for plumbing in ("on_established", "ingest", "hub", "connect_hooks", "add_event_hook"):
        assert f'id="utd_trio.Signaling.{plumbing}"' not in api, plumbing
    assert 'id="utd_trio.Signaling.send_message"' in api
    assert "v.DEFAULT_BASE_URL" not in api
    assert "https://engine.udt-stream.com" in api
    for text in (api, testing):
        assert not re.search(r":(data|meth|class|func|attr):", text)
    assert "Bases: " not in re.sub(r"<[^>]+>", "", testing)  # no private base classes
    assert "_TLS" not in testing  # nor the constructor's private types


def check_mermaid_is_local(site: Path) -> None:
    """Pages with diagrams load the vendored mermaid (Material then skips its CDN copy)."""
    calls = (site / "calls" / "index.html").read_text(encoding="utf-8")
    assert 'class="mermaid"' in calls
    assert re.search(r'<script src="[./]*assets/javascripts/mermaid-[\d.]+\.min\.js">', calls)


def test_home_page_opens_with_install_and_an_example() -> None:
    lines = (ROOT / "docs" / "index.md").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "```bash"
    assert lines[3].startswith("pip install 'utd-trio[engine]'")
    assert lines[6] == "```python"
    (first, *_) = extract(ROOT / "docs" / "index.md")
    assert first.line == 7
    assert "async def main(" in first.source
    assert not first.skip  # tests/docs/test_snippets.py runs it
