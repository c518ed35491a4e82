"""Sending and receiving messages between real sessions over loopback: DMs and groups."""

from __future__ import annotations

import anyio
import pytest

from utd_trio import Attachment, MessageReceived
from utd_trio.testing import Engine

from ._helpers import Creds, peers, stored

pytestmark = pytest.mark.both_loops


async def test_dm_delivery_and_ack(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            sent = await alice.sig.send_message(to="bob", text="hi", metadata={"k": [1, 2]})
            assert sent.conversation_id == "dm:alice:bob"
            assert (sent.seq, sent.sender, sent.to, sent.text) == (1, "alice", "bob", "hi")
            assert sent.metadata == {"k": [1, 2]}
            assert sent.client_id is not None
            assert len(sent.client_id) == 36
            assert sent.created_at is not None
            got = await bob.next(MessageReceived)
            assert got.message == sent
            assert not got.recovered
            await alice.assert_quiet(MessageReceived)  # the sending socket gets no echo


async def test_multi_device_echo(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "alice", "bob") as (phone, laptop, bob):
            sent = await phone.sig.send_message(to="bob", text="from the phone")
            assert (await laptop.next(MessageReceived)).message == sent
            assert (await bob.next(MessageReceived)).message == sent
            reply = await bob.sig.send_message(to="alice", text="both of you")
            assert (await phone.next(MessageReceived)).message == reply
            assert (await laptop.next(MessageReceived)).message == reply
            await phone.assert_quiet(MessageReceived)
            await bob.assert_quiet(MessageReceived)


async def test_seq_strictly_increasing_in_order(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            sent = []
            for i in range(10):
                sig = alice.sig if i % 2 == 0 else bob.sig
                other = "bob" if i % 2 == 0 else "alice"
                sent.append(await sig.send_message(to=other, text=f"m{i}"))
            assert [m.seq for m in sent] == list(range(1, 11))
            received = [m.seq for m in sent[1::2]]
            got = [(await alice.next(MessageReceived)).message.seq for _ in received]
            assert got == received
            assert [(await bob.next(MessageReceived)).message.text for _ in range(5)] == [
                f"m{i}" for i in range(0, 10, 2)
            ]
            assert alice.sig.last_delivered_seq("dm:alice:bob") == 10


async def test_attachment_only_message(utd_engine: Engine, creds: Creds) -> None:
    attachment = Attachment("https://files/x.png", "k/x.png", "image/png", 42, name="x.png")
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            sent = await alice.sig.send_message(to="bob", attachment=attachment)
            assert sent.text is None
            assert sent.attachment == attachment
            assert (await bob.next(MessageReceived)).message.attachment == attachment


async def test_group_messaging_fans_out_to_members(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "carol", "alice", "bob", "carol") as peers_:
            carol, alice, bob, carol2 = peers_
            group = await carol.sig.create_group("team", ["alice", "bob"])
            sent = await alice.sig.send_message(group_id=group.group_id, text="hello team")
            assert sent.conversation_id == f"group:{group.group_id}" == group.conversation_id
            assert (sent.group_id, sent.to, sent.seq) == (group.group_id, None, 1)
            for peer in (bob, carol, carol2):
                assert (await peer.next(MessageReceived)).message == sent
            await alice.assert_quiet(MessageReceived)
            second = await carol.sig.send_message(group_id=group.group_id, text="hi")
            assert second.seq == 2
            assert (await alice.next(MessageReceived)).message == second
            assert (await carol2.next(MessageReceived)).message == second
            assert stored(utd_engine, group.conversation_id) == ["hello team", "hi"]
