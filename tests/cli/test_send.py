"""``utd-trio send`` against an in-process engine."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
import trio

from utd_trio import Event, EventStream, MessageReceived, Signaling, open_signaling
from utd_trio.testing import Engine

from ._helpers import Tap, client_args, run_cli


async def next_message(stream: EventStream[Event]) -> MessageReceived:
    async for event in stream:
        if isinstance(event, MessageReceived):
            return event
    raise AssertionError("stream ended before a message")


def bob(engine: Engine) -> AbstractAsyncContextManager[Signaling]:
    project = engine.default_project
    return open_signaling(
        app_id=project.app_id, app_key=project.app_key, user_id="bob", base_url=engine.base_url
    )


async def test_send_a_direct_message(utd_engine: Engine, tap: Tap) -> None:
    with trio.fail_after(10):
        async with bob(utd_engine) as sig, sig.events(MessageReceived) as stream:
            argv = ["send", *client_args(utd_engine), "--to", "bob", "hello bob", "--json"]
            assert await run_cli(argv, tap) == 0
            got = await next_message(stream)
    assert (got.message.sender, got.message.text) == ("alice", "hello bob")
    [record] = [json.loads(line) for line in tap.lines]
    assert record["message"]["id"] == got.message.id
    assert record["text"].startswith("sent #1 in dm:alice:bob from alice")


async def test_send_to_a_group_with_an_attachment(
    utd_engine: Engine, tap: Tap, tmp_path: Path
) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(b"\x89PNG" + bytes(100))
    with trio.fail_after(10):
        async with bob(utd_engine) as sig, sig.events(MessageReceived) as stream:
            group = await sig.create_group("pets", ["alice"])
            argv = ["send", *client_args(utd_engine), "--group", group.group_id]
            assert await run_cli([*argv, "look", "--attach", str(picture)], tap) == 0
            got = await next_message(stream)
    assert got.message.group_id == group.group_id
    assert got.message.attachment is not None
    assert (got.message.attachment.name, got.message.attachment.size) == ("cat.png", 104)
    assert got.message.attachment.content_type == "image/png"
    assert "[+ cat.png (image/png, 104 B)]" in tap.text


async def test_nothing_to_send(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(10):
        assert await run_cli(["send", *client_args(utd_engine), "--to", "bob"], tap) == 2
    assert capsys.readouterr().err == (
        "utd-trio send: nothing to send: give TEXT and/or --attach FILE\n"
    )


async def test_chat_disabled(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    await utd_engine.set_plan(chat_enabled=False)
    with trio.fail_after(10):
        assert await run_cli(["send", *client_args(utd_engine), "--to", "bob", "hi"], tap) == 1
    err = capsys.readouterr().err
    assert err.startswith("utd-trio send: chat is not enabled for this project's plan")
    assert err.count("\n") == 1


async def test_unknown_group(
    utd_engine: Engine, tap: Tap, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["send", *client_args(utd_engine), "--group", "grp_nope", "hi"]
    with trio.fail_after(10):
        assert await run_cli(argv, tap) == 1
    err = capsys.readouterr().err
    assert err.startswith("utd-trio send: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
