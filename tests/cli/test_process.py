"""The real ``utd-trio`` process and Ctrl-C: the session unwinds, one line, status 130."""

from __future__ import annotations

import signal

import pytest
import trio

from utd_trio import open_signaling
from utd_trio.testing import Engine

from ._helpers import client_args
from ._process import finish, read_until, utd_trio


@pytest.mark.parametrize(
    ("argv", "ready"),
    [
        (["listen"], b"connected (generation 1)"),
        (["presence", "carol", "--watch"], b"carol is offline"),
        (["call", "--to", "bob"], b"calling bob"),
    ],
    ids=["listen", "presence-watch", "call"],
)
async def test_ctrl_c_in_a_real_process(utd_engine: Engine, argv: list[str], ready: bytes) -> None:
    command = argv[0]
    with trio.fail_after(20):
        async with (
            open_signaling(**utd_engine.signaling_kwargs("bob")),
            utd_trio(*argv, *client_args(utd_engine), "--color=never") as process,
        ):
            await read_until(process.stdout, ready)
            await utd_engine.wait_socket_count("alice", 1)
            process.send_signal(signal.SIGINT)
            with trio.fail_after(5):  # the session closes within its close timeout
                status, err = await finish(process)
            await utd_engine.wait_socket_count("alice", 0)
    assert status == 130
    assert err == f"utd-trio {command}: interrupted\n"
