"""Receipts (only when the mark advances, read implies delivered) and typing (throttle, expiry)."""

from __future__ import annotations

import anyio
import pytest
import trio.testing

from utd_trio import (
    ErrorCode,
    MessageReceived,
    ReceiptReceived,
    TypingChanged,
    UTDStreamError,
)
from utd_trio.testing import Engine

from ._helpers import Creds, peers

pytestmark = pytest.mark.both_loops


async def test_receipts_advance_only(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "bob") as (alice, bob, bob2):
            for i in range(3):
                await alice.sig.send_message(to="bob", text=f"m{i}")
            cid = "dm:alice:bob"
            await bob.sig.mark_delivered(cid, 2)
            for peer in (alice, bob2):
                receipt = await peer.next(ReceiptReceived)
                assert (receipt.conversation_id, receipt.user_id) == (cid, "bob")
                assert (receipt.status, receipt.up_to_seq) == ("delivered", 2)
                assert receipt.at is not None
            await bob.assert_quiet(ReceiptReceived)  # not to the reading socket
            await bob.sig.mark_delivered(cid, 1)  # behind the mark: no receipt
            await bob.sig.mark_delivered(cid, 2)  # equal: no receipt
            await alice.assert_quiet(ReceiptReceived)
            await bob.sig.mark_read(cid, 99)  # clamped to the last seq
            receipt = await alice.next(ReceiptReceived)
            assert (receipt.status, receipt.up_to_seq) == ("read", 3)
            assert (await bob2.next(ReceiptReceived)).up_to_seq == 3
            await bob.sig.mark_delivered(cid, 3)  # read implied delivered
            await alice.assert_quiet(ReceiptReceived)
            conversations = await bob.sig.conversations()
            assert [(c.conversation_id, c.unread) for c in conversations] == [(cid, 0)]


async def test_receipt_input_errors(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "carol") as (alice, carol):
            await alice.sig.send_message(to="bob", text="hi")
            with pytest.raises(UTDStreamError) as info:
                await carol.sig.mark_read("dm:alice:bob", 1)
            assert info.value.code is ErrorCode.FORBIDDEN
            for bad in (-1, True, 1.5):
                with pytest.raises(ValueError, match="up_to_seq"):
                    await alice.sig.mark_read("dm:alice:bob", bad)  # type: ignore[arg-type]
            await alice.sig.mark_read("dm:alice:zed", 5)  # an empty DM: nothing to mark


async def test_typing_throttle_and_stop_on_send(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    # Frames are counted: no ping may fall in the test's few seconds, wherever the socket's
    # slot of the ping grid is (it follows the socket id, which depends on the tests before).
    utd_engine.configure(heartbeat_interval=1000)
    with anyio.fail_after(60):
        async with peers(utd_engine, creds, "alice", "alice", "bob") as (alice, alice2, bob):
            sent = alice.sig.stats.frames_sent
            await alice.sig.set_typing(to="bob")
            typing = await bob.next(TypingChanged)
            assert typing == TypingChanged("dm:alice:bob", "alice", is_typing=True)
            assert alice.sig.stats.frames_sent == sent + 1
            await alice.sig.set_typing(to="bob")  # within 3 s: not sent
            await anyio.sleep(2.9)
            await alice.sig.set_typing(to="bob")
            assert alice.sig.stats.frames_sent == sent + 1
            await anyio.sleep(0.2)
            await alice.sig.set_typing(to="bob")  # 3.1 s later: a refresh goes out
            assert alice.sig.stats.frames_sent == sent + 2
            await bob.assert_quiet(TypingChanged)  # a refresh is not a change
            await alice2.assert_quiet(TypingChanged)  # never echoed to the typer's devices
            await alice.sig.send_message(to="bob", text="done")
            assert (await bob.next(MessageReceived)).message.text == "done"
            assert (await bob.next(TypingChanged)).is_typing is False
            await alice.sig.set_typing(to="bob", typing=False)  # already stopped: not sent
            await bob.assert_quiet(TypingChanged)
            await alice.sig.set_typing(to="bob")
            assert (await bob.next(TypingChanged)).is_typing is True
            await alice.sig.set_typing(to="bob", typing=False)
            assert (await bob.next(TypingChanged)).is_typing is False
            assert bob.sig.typing_users("dm:alice:bob") == frozenset()


async def test_typing_expires_after_6s_without_refresh(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(60):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.set_typing(to="bob")
            assert (await bob.next(TypingChanged)).is_typing
            start = anyio.current_time()
            await anyio.sleep(4)
            await alice.sig.set_typing(to="bob")  # a refresh re-arms the 6 s
            assert bob.sig.typing_users("dm:alice:bob") == {"alice"}
            expired = await bob.next(TypingChanged)
            assert expired == TypingChanged("dm:alice:bob", "alice", is_typing=False)
            assert anyio.current_time() - start >= 10 - 0.01
            assert bob.sig.typing_users("dm:alice:bob") == frozenset()
            await alice.sig.set_typing(to="bob", typing=False)  # late stop: absorbed
            await bob.assert_quiet(TypingChanged)


async def test_group_typing(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "carol", "alice", "bob") as (carol, alice, bob):
            group = await carol.sig.create_group("team", ["alice", "bob"])
            await alice.sig.set_typing(group_id=group.group_id)
            for peer in (bob, carol):
                typing = await peer.next(TypingChanged)
                assert (typing.conversation_id, typing.user_id) == (group.conversation_id, "alice")
            await alice.assert_quiet(TypingChanged)
