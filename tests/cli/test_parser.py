"""Global flags and help of the real ``utd-trio``: --version, -v anywhere, typos, defaults."""

from __future__ import annotations

import trio

from utd_trio import __version__
from utd_trio.testing import Engine

from ._helpers import client_args
from ._process import run


async def test_version() -> None:
    with trio.fail_after(20):
        status, out, _ = await run("--version")
    assert (status, out) == (0, f"utd-trio {__version__}\n")


async def test_a_mistyped_command_gets_a_suggestion() -> None:
    with trio.fail_after(20):
        status, out, err = await run("lisen", "--user", "alice")
    assert (status, out) == (2, "")
    suggestion = "utd-trio: error: unknown command 'lisen': did you mean 'listen'?"
    assert err.splitlines()[-1] == suggestion


async def test_nonsense_lists_the_commands() -> None:
    with trio.fail_after(20):
        status, _, err = await run("xyzzy")
    assert status == 2
    assert "invalid choice: 'xyzzy'" in err
    assert "did you mean" not in err


async def test_verbose_after_the_command(utd_engine: Engine) -> None:
    argv = ["presence", "bob", *client_args(utd_engine), "-vv"]
    with trio.fail_after(20):
        status, out, err = await run(*argv)
    assert status == 0, err
    assert "bob is offline" in out
    assert " DEBUG " in err


async def test_help_shows_defaults() -> None:
    with trio.fail_after(20):
        status, out, _ = await run("listen", "--help")
    assert status == 0
    flat = " ".join(out.split())
    assert "--connect-timeout SECONDS give up when not connected within this time" in flat
    assert "(default: 10.0)" in flat or "(default 10)" in flat
    assert "(default: None)" not in flat
    assert "also accepted after the command" in flat
