"""Bad input is refused clearly (locally or by the engine), stores nothing, and keeps the
connection up; the chat gate refuses everything with FEATURE_DISABLED."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from utd_trio import ErrorCode, MessageReceived, UTDStreamError, open_signaling
from utd_trio.testing import Engine, ProjectConfig, open_engine

from ._helpers import Creds, peers, raw_request, raw_socket, stored

pytestmark = pytest.mark.both_loops


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "bob", "text": "x" * 4001}, "text"),
        ({"to": "bob", "text": ""}, "text"),
        ({"to": "bob"}, "text or attachment"),
        ({"to": "bob", "group_id": "grp_1", "text": "x"}, "to or group_id"),
        ({"text": "x"}, "to or group_id"),
        ({"to": "alice", "text": "x"}, "to"),
        ({"to": "not valid!", "text": "x"}, "to"),
        ({"to": "bob", "attachment": {"url": "u"}}, "attachment"),
        ({"to": "bob", "text": "x", "metadata": {"big": "y" * 17000}}, "metadata"),
        ({"to": "bob", "text": "x", "metadata": [1]}, "metadata"),
    ],
)
async def test_local_validation(
    utd_engine: Engine, creds: Creds, kwargs: dict[str, Any], field: str
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            sent = alice.sig.stats.frames_sent
            with pytest.raises(ValueError, match=field):
                await alice.sig.send_message(**kwargs)
            assert alice.sig.stats.frames_sent == sent
            assert stored(utd_engine, "dm:alice:bob") == []
            ok = await alice.sig.send_message(to="bob", text="x" * 4000)
            assert ok.seq == 1
            assert (await bob.next(MessageReceived)).message.id == ok.id


_LONG_URL = {"url": "u" * 2049, "key": "k", "content_type": "a/b", "size": 1}


@pytest.mark.parametrize(
    "data",
    [
        {"to": "bob", "text": "x" * 4001},
        {"to": "bob"},
        {"to": "bob", "text": ""},
        {"to": "bob", "group_id": "g", "text": "x"},
        {"text": "x"},
        {"to": "alice", "text": "x"},
        {"to": "bob", "text": 5},
        {"to": "bob", "attachment": {"url": "u", "key": "k", "content_type": "a/b"}},
        {
            "to": "bob",
            "attachment": {"url": "u" * 2049, "key": "k", "content_type": "a/b", "size": 1},
        },
        {"to": "bob", "text": "x", "metadata": {"big": "y" * 17000}},
        {"to": "bob", "text": "x", "client_id": ""},
    ],
)
async def test_engine_refuses_bad_send(utd_engine: Engine, data: dict[str, Any]) -> None:
    with anyio.fail_after(10):
        async with raw_socket(utd_engine, "alice") as ws:
            reply = await raw_request(ws, "message.send", {"client_id": "c-bad", **data})
            assert reply["event"] == "error"
            assert (reply["data"]["status"], reply["data"]["code"]) == (422, "invalid")
            assert stored(utd_engine, "dm:alice:bob") == []
            fine = {"client_id": "c-ok", "to": "bob", "text": "fine"}
            ok = await raw_request(ws, "message.send", fine)
            assert ok["event"] == "ack"


async def test_group_errors(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "carol", "dave") as (carol, dave):
            group = await carol.sig.create_group("team", ["alice"])
            with pytest.raises(UTDStreamError) as info:
                await dave.sig.send_message(group_id=group.group_id, text="let me in")
            assert info.value.code is ErrorCode.FORBIDDEN
            with pytest.raises(UTDStreamError) as info:
                await dave.sig.send_message(group_id="grp_unknown", text="hello?")
            assert info.value.code is ErrorCode.NOT_FOUND
            with pytest.raises(UTDStreamError) as info:
                await dave.sig.set_typing(group_id=group.group_id)
            assert info.value.code is ErrorCode.FORBIDDEN
            with pytest.raises(UTDStreamError) as info:
                await dave.sig.history(group.conversation_id)
            assert info.value.code is ErrorCode.FORBIDDEN
            assert stored(utd_engine, group.conversation_id) == []
            ok = await dave.sig.send_message(to="carol", text="still connected")
            assert ok.seq == 1


def _assert_chat_disabled(error: UTDStreamError) -> None:
    assert error.code is ErrorCode.FEATURE_DISABLED
    assert error.is_chat_disabled
    assert not error.is_signaling_disabled
    assert error.is_forbidden
    assert error.message == "Messaging is not enabled for this plan"


async def test_gate_live_plan_change(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, _bob):
            await alice.sig.send_message(to="bob", text="before")
            await utd_engine.set_plan(chat_enabled=False)
            calls = [
                alice.sig.send_message(to="bob", text="after"),
                alice.sig.mark_read("dm:alice:bob", 1),
                alice.sig.mark_delivered("dm:alice:bob", 1),
                alice.sig.set_typing(to="bob"),
                alice.sig.history("dm:alice:bob"),
                alice.sig.conversations(),
            ]
            for call in calls:
                with pytest.raises(UTDStreamError) as info:
                    await call
                _assert_chat_disabled(info.value)
            assert stored(utd_engine, "dm:alice:bob") == ["before"]
            await utd_engine.set_plan(chat_enabled=True)
            assert (await alice.sig.send_message(to="bob", text="again")).seq == 2


async def test_gate_project_without_chat() -> None:
    project = ProjectConfig("app_nochat", "key_nochat", "secret_nochat", chat_enabled=False)
    with anyio.fail_after(10):
        async with (
            open_engine([project]) as engine,
            open_signaling(
                app_id="app_nochat", app_key="key_nochat", user_id="alice", base_url=engine.base_url
            ) as sig,
        ):
            assert sig.chat_enabled is False
            with pytest.raises(UTDStreamError) as info:
                await sig.send_message(to="bob", text="hi")
            _assert_chat_disabled(info.value)
