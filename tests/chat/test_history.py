"""History paging (§4), retention (history_days) and the conversation list over REST."""

from __future__ import annotations

import anyio
import pytest

from utd_trio import ErrorCode, HistoryPage, UTDStreamError
from utd_trio.testing import Engine

from ._helpers import Creds, peers, raw_get

pytestmark = pytest.mark.both_loops

CID = "dm:alice:bob"
MESSAGES = f"/api/v1/chat/conversations/{CID}/messages"


def _seqs(page: HistoryPage) -> list[int]:
    return [m.seq for m in page.messages]


async def test_paging_rules(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            for i in range(5):
                await alice.sig.send_message(to="bob", text=f"m{i}")
            newest = await bob.sig.history(CID, limit=2)
            assert (_seqs(newest), newest.has_more) == ([4, 5], True)
            older = await bob.sig.history(CID, before=4, limit=2)
            assert (_seqs(older), older.has_more) == ([2, 3], True)
            oldest = await bob.sig.history(CID, before=2, limit=2)
            assert (_seqs(oldest), oldest.has_more) == ([1], False)
            first = await bob.sig.history(CID, after=0, limit=2)
            assert (_seqs(first), first.has_more) == ([1, 2], True)
            rest = await bob.sig.history(CID, after=2, limit=50)
            assert (_seqs(rest), rest.has_more) == ([3, 4, 5], False)
            window = await bob.sig.history(CID, after=1, before=5, limit=2)
            assert (_seqs(window), window.has_more) == ([2, 3], True)
            everything = await bob.sig.history(CID)
            assert [m.text for m in everything.messages] == [f"m{i}" for i in range(5)]
            assert not everything.has_more
            past_end = await bob.sig.history(CID, after=5)
            assert (_seqs(past_end), past_end.has_more) == ([], False)


async def test_history_refusals(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "carol") as (alice, carol):
            await alice.sig.send_message(to="bob", text="hi")
            with pytest.raises(UTDStreamError) as info:
                await carol.sig.history(CID)
            assert info.value.code is ErrorCode.FORBIDDEN
            empty = await alice.sig.history("dm:alice:zed")
            assert (empty.messages, empty.has_more) == ((), False)
            with pytest.raises(UTDStreamError) as info:
                await alice.sig.history("group:grp_nope")
            assert info.value.code is ErrorCode.NOT_FOUND
            with pytest.raises(ValueError, match="limit"):
                await alice.sig.history(CID, limit=0)
            for params in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"after": -1}):
                response = await raw_get(alice.sig, MESSAGES, **params)
                assert response.status_code == 422, params
            response = await raw_get(alice.sig, MESSAGES, limit=200)
            assert response.status_code == 200


async def test_retention_hides_old_messages(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            assert bob.sig.plan_limits is not None
            assert bob.sig.plan_limits.history_days == 30
            await alice.sig.send_message(to="bob", text="old")
            utd_engine.advance_wall_clock(31 * 86400)
            await alice.sig.send_message(to="bob", text="new")
            page = await bob.sig.history(CID)
            assert [m.text for m in page.messages] == ["new"]
            assert _seqs(page) == [2]
            conversations = await bob.sig.conversations()
            assert len(conversations) == 1
            last = conversations[0].last_message
            assert last is not None
            assert last.text == "new"
            assert conversations[0].unread == 1
            utd_engine.advance_wall_clock(31 * 86400)
            assert (await bob.sig.history(CID)).messages == ()
            (listed,) = await bob.sig.conversations()
            assert (listed.last_message, listed.unread) == (None, 0)


async def test_conversation_list(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob", "carol") as (alice, bob, carol):
            group = await carol.sig.create_group("team", ["alice"])
            await bob.sig.send_message(to="alice", text="from bob")
            await carol.sig.send_message(to="alice", text="from carol")
            await carol.sig.send_message(to="alice", text="again")
            listed = await alice.sig.conversations()
            summary = [(c.conversation_id, c.kind, c.unread) for c in listed]
            assert summary == [
                ("dm:alice:carol", "dm", 2),
                ("dm:alice:bob", "dm", 1),
                (group.conversation_id, "group", 0),
            ]
            assert listed[0].last_message is not None
            assert listed[0].last_message.text == "again"
            assert listed[2].last_message is None
            await alice.sig.send_message(group_id=group.group_id, text="in the group")
            listed = await carol.sig.conversations()
            assert [c.conversation_id for c in listed] == [
                group.conversation_id,
                "dm:alice:carol",
            ]
            assert listed[0].unread == 1
            (only,) = await bob.sig.conversations()
            assert (only.conversation_id, only.unread) == ("dm:alice:bob", 0)
