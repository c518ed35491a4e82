"""Developer sessions: `uv run nox -l` lists them.

Every session runs inside the project's locked uv environment so that the tools and versions
match `uv.lock` and CI.
"""

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (the README's `uv run pytest`)."""
    session.run("uv", "run", "pytest", *session.posargs, external=True)


# The static tools live in the non-default `lint` dependency group (pyright brings a Node
# runtime), so the first `uv run utd-trio demo` stays light; these sessions add the group.
LINT = ("uv", "run", "--group", "lint")


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.run(*LINT, "ruff", "check", ".", external=True)
    session.run(*LINT, "ruff", "format", "--check", ".", external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict and pyright (strict) on the library."""
    session.run(*LINT, "mypy", "utd_trio", external=True)
    session.run(*LINT, "pyright", "utd_trio", external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ with warnings as errors (mkdocs --strict).

    The one docs command: the README, CI (.ci/run) and tests/docs/test_site.py all run
    ``uv run nox -s docs``. Extra arguments go to ``mkdocs build`` (e.g. ``-- -d /tmp/site``).
    """
    session.run(
        "uv",
        "run",
        "--group",
        "docs",
        "mkdocs",
        "build",
        "--strict",
        *session.posargs,
        external=True,
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks (not part of the default run): writes benchmarks/RESULTS.md.

    ``websockets`` is added for this run only (not a project dependency): the receive
    benchmark measures it as the alternative transport behind the seam.
    """
    session.run(
        "uv",
        "run",
        "--with",
        "websockets>=17",
        "python",
        "-m",
        "benchmarks.run_all",
        *session.posargs,
        external=True,
    )
