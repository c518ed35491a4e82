"""``group.updated`` reaches the members before and after each change as `GroupChanged`."""

from __future__ import annotations

import anyio
import pytest

from utd_trio import GroupChanged
from utd_trio.testing import Engine

from ._helpers import Peer, peers, roles

pytestmark = pytest.mark.both_loops


async def _changes(peer: Peer, n: int) -> list[tuple[str, tuple[str, ...]]]:
    """The next ``n`` `GroupChanged` of a peer as ``(change, user_ids)``."""
    return [((ev := await peer.next(GroupChanged)).change, ev.user_ids) for _ in range(n)]


async def test_create_reaches_every_member_and_every_device(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice", "bob", "bob", "dave") as (alice, bob, bob2, dave):
            group = await alice.sig.create_group("team", ["bob", "carol"])
            for peer in (alice, bob, bob2):
                ev = await peer.next(GroupChanged)
                assert ev.change == "created"
                assert ev.group == group
                assert ev.user_ids == ("alice", "bob", "carol")
                assert ev.group.conversation_id == f"group:{group.group_id}"
            # dave is not a member: the first group change he hears of is his own group's.
            mine = await dave.sig.create_group("dave's", [])
            assert (await dave.next(GroupChanged)).group.group_id == mine.group_id


async def test_rename_and_role_change_reach_the_members(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice", "bob") as (alice, bob):
            group = await alice.sig.create_group("team", ["bob"])
            await alice.sig.rename_group(group.group_id, "renamed")
            await alice.sig.set_group_role(group.group_id, "bob", "admin")
            for peer in (alice, bob):
                assert await _changes(peer, 3) == [
                    ("created", ("alice", "bob")),
                    ("renamed", ()),
                    ("role_changed", ("bob",)),
                ]
            latest = await bob.sig.get_group(group.group_id)
            assert (latest.name, roles(latest)["bob"]) == ("renamed", "admin")


async def test_a_new_member_hears_of_their_addition(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            group = await alice.sig.create_group("team", ["bob"])
            added = await alice.sig.add_group_members(group.group_id, ["carol"])
            for peer in (alice, bob):
                assert [c for c, _ in await _changes(peer, 2)] == ["created", "member_added"]
            ev = await carol.next(GroupChanged)  # carol missed "created": she was not in it
            assert (ev.change, ev.user_ids, ev.group) == ("member_added", ("carol",), added)
            assert [g.group_id for g in await carol.sig.list_groups()] == [group.group_id]


async def test_a_removed_member_hears_of_their_removal_then_nothing(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            group = await alice.sig.create_group("team", ["bob", "carol"])
            after = await alice.sig.remove_group_member(group.group_id, "bob")
            await alice.sig.rename_group(group.group_id, "without bob")
            assert await _changes(bob, 2) == [
                ("created", ("alice", "bob", "carol")),
                ("member_removed", ("bob",)),
            ]
            for peer in (alice, carol):
                changes = await _changes(peer, 3)
                assert [c for c, _ in changes] == ["created", "member_removed", "renamed"]
            # bob's next group event is a group he is in, not the rename he no longer sees.
            await alice.sig.create_group("with bob", ["bob"])
            ev = await bob.next(GroupChanged)
            assert (ev.change, ev.group.name) == ("created", "with bob")
            assert roles(after) == {"alice": "owner", "carol": "member"}


async def test_the_owner_leaving_reaches_the_leaver_and_shows_the_new_owner(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            group = await alice.sig.create_group("team", ["bob", "carol"])
            await alice.sig.set_group_role(group.group_id, "carol", "admin")
            await alice.sig.leave_group(group.group_id)
            for peer in (alice, bob, carol):
                await _changes(peer, 2)
                ev = await peer.next(GroupChanged)
                assert (ev.change, ev.user_ids) == ("left", ("alice",))
                assert ev.group.owner == "carol"
                assert roles(ev.group) == {"bob": "member", "carol": "owner"}
            assert await alice.sig.list_groups() == ()


async def test_the_last_member_leaving_deletes_the_group_and_tells_them(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice", "alice") as (phone, laptop):
            group = await phone.sig.create_group("solo", [])
            await phone.sig.leave_group(group.group_id)
            for peer in (phone, laptop):
                assert [c for c, _ in await _changes(peer, 2)] == ["created", "left"]
            assert await laptop.sig.list_groups() == ()
