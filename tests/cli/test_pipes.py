"""A reader that closes early (``| head``): the real process stops quietly with status 141."""

from __future__ import annotations

import pytest
import trio

from utd_trio.testing import Engine

from ._helpers import client_args
from ._process import finish, read_until, utd_trio

CUT_SHORT = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


def assert_quiet(err: str) -> None:
    assert err == "", err


@pytest.mark.parametrize(("argv", "lines"), [(["demo", "--json"], 5), (["demo"], 3)])
async def test_demo_into_head(argv: list[str], lines: int) -> None:
    with trio.fail_after(20):
        async with utd_trio(*argv, "--color=never") as process:
            got = b""
            while got.count(b"\n") < lines:  # `head -N` reads N lines, then exits
                got += await read_until(process.stdout, b"\n")
            assert process.stdout is not None
            await process.stdout.aclose()
            status, err = await finish(process)
    assert status == CUT_SHORT
    assert_quiet(err)


async def test_listen_json_into_head(utd_engine: Engine) -> None:
    with trio.fail_after(20):
        async with utd_trio("listen", *client_args(utd_engine), "--json") as process:
            await read_until(process.stdout, b"\n")
            assert process.stdout is not None
            await process.stdout.aclose()
            await utd_engine.drop_sockets("alice")  # an event to write into the closed pipe
            status, err = await finish(process)
        await utd_engine.wait_socket_count("alice", 0)
    assert status == CUT_SHORT
    assert_quiet(err)
