"""The README's CLI walkthrough with real processes: a call answered, a group, a post to it."""

from __future__ import annotations

import json
import signal

import trio

from utd_trio.testing import Engine

from ._helpers import client_args
from ._process import finish, read_until, run, utd_trio


async def test_listen_auto_answer_answers_call(utd_engine: Engine) -> None:
    listen = ["listen", *client_args(utd_engine, "alice"), "--auto-answer", "--color=never"]
    call = ["call", *client_args(utd_engine, "bob"), "--to", "alice", "--hangup-after", "0"]
    with trio.fail_after(30):
        async with utd_trio(*listen) as alice:
            await read_until(alice.stdout, b"connected (generation 1)")
            status, out, err = await run(*call, "--color=never")
            assert status == 0, err
            assert "accepted by alice" in out
            assert "hung up" in out
            seen = await read_until(alice.stdout, b"ended by bob")
            assert b"answered call call_" in seen
            alice.send_signal(signal.SIGINT)
            assert (await finish(alice))[0] == 130


async def test_group_create_then_send_to_it(utd_engine: Engine) -> None:
    create = ["group", "create", *client_args(utd_engine, "alice")]
    with trio.fail_after(30):
        status, out, err = await run(*create, "--name", "team", "--members", "bob,carol")
        assert status == 0, err
        group_id = out.strip()
        assert "\n" not in group_id
        send = ["send", *client_args(utd_engine, "bob"), "--group", group_id, "hello team"]
        status, out, err = await run(*send, "--json")
        assert status == 0, err
        listing = ["group", "list", *client_args(utd_engine, "carol"), "--json"]
        status, groups, err = await run(*listing)
        assert status == 0, err
    assert json.loads(out)["message"]["text"] == "hello team"
    (group,) = map(json.loads, groups.splitlines())
    assert group["group_id"] == group_id
    assert group["name"] == "team"
    assert {m["user_id"] for m in group["members"]} == {"alice", "bob", "carol"}


async def test_group_create_bad_member_names_the_flag(utd_engine: Engine) -> None:
    argv = ["group", "create", *client_args(utd_engine), "--name", "t", "--members", "b,c d"]
    with trio.fail_after(20):
        status, _, err = await run(*argv)
    assert status == 2
    assert "argument --members: the user id must be" in err.splitlines()[-1]
