"""The documentation site builds with the README's command, the one CI runs too."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ._snippets import ROOT

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
