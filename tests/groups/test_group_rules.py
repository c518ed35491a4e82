"""Group role rules and caps of protocol §4/§10, one test per rule, over loopback REST."""

from __future__ import annotations

from collections.abc import Awaitable

import anyio
import pytest

from utd_trio import ErrorCode, UTDApi, UTDStreamError
from utd_trio.testing import Engine

from ._helpers import apis, raw, roles

pytestmark = pytest.mark.both_loops

GROUPS = "/api/v1/chat/groups"


async def _fails(code: ErrorCode, call: Awaitable[object]) -> UTDStreamError:
    """Await ``call`` and return the `UTDStreamError` it must raise."""
    with pytest.raises(UTDStreamError) as info:
        await call
    assert info.value.code is code, info.value
    return info.value


async def _admin_group(owner: UTDApi) -> str:
    """A group of alice (owner), bob (admin), carol and dave (members); returns its id."""
    group = await owner.create_group("team", ["bob", "carol", "dave"])
    await owner.set_group_role(group.group_id, "bob", "admin")
    return group.group_id


async def test_create_answers_201_with_the_creator_as_owner(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob") as (alice, bob):
            response = await raw(alice, "POST", GROUPS, {"name": " team ", "member_ids": ["bob"]})
            assert response.status_code == 201
            body = response.json()
            assert body["owner"] == "alice"
            assert body["name"] == "team"
            assert body["members"] == [
                {"user_id": "alice", "role": "owner"},
                {"user_id": "bob", "role": "member"},
            ]
            assert body["created_at"].endswith("Z")
            group = await alice.create_group("dupes", ["bob", "bob", "alice"])
            assert roles(group) == {"alice": "owner", "bob": "member"}
            assert [g.group_id for g in await bob.list_groups()] == [
                body["group_id"],
                group.group_id,
            ]
            assert (await bob.get_group(group.group_id)).name == "dupes"


async def test_get_by_a_non_member_is_forbidden_and_unknown_is_not_found(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "eve") as (alice, eve):
            group = await alice.create_group("team", [])
            await _fails(ErrorCode.FORBIDDEN, eve.get_group(group.group_id))
            await _fails(ErrorCode.FORBIDDEN, eve.rename_group(group.group_id, "mine"))
            await _fails(ErrorCode.NOT_FOUND, alice.get_group("grp_unknown"))
            assert await eve.list_groups() == ()


async def test_owner_and_admins_rename_members_do_not(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            gid = await _admin_group(alice)
            assert (await alice.rename_group(gid, "by owner")).name == "by owner"
            assert (await bob.rename_group(gid, "by admin")).name == "by admin"
            await _fails(ErrorCode.FORBIDDEN, carol.rename_group(gid, "by member"))
            assert (await carol.get_group(gid)).name == "by admin"


async def test_owner_and_admins_add_members_do_not(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            gid = await _admin_group(alice)
            await alice.add_group_members(gid, ["erin"])
            group = await bob.add_group_members(gid, ["frank", "carol"])  # carol: no-op
            assert list(roles(group)) == ["alice", "bob", "carol", "dave", "erin", "frank"]
            assert roles(group)["carol"] == "member"
            await _fails(ErrorCode.FORBIDDEN, carol.add_group_members(gid, ["gina"]))


async def test_an_admin_removes_members_but_not_admins(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob") as (alice, bob):
            gid = await _admin_group(alice)
            await alice.set_group_role(gid, "carol", "admin")
            group = await bob.remove_group_member(gid, "dave")
            assert "dave" not in roles(group)
            await _fails(ErrorCode.FORBIDDEN, bob.remove_group_member(gid, "carol"))
            await _fails(ErrorCode.NOT_FOUND, bob.remove_group_member(gid, "dave"))


async def test_a_member_removes_nobody(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "carol") as (alice, carol):
            gid = await _admin_group(alice)
            await _fails(ErrorCode.FORBIDDEN, carol.remove_group_member(gid, "dave"))
            await _fails(ErrorCode.FORBIDDEN, carol.remove_group_member(gid, "carol"))
            assert "dave" in roles(await alice.get_group(gid))


async def test_the_owner_removes_admins_but_nobody_removes_the_owner(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob") as (alice, bob):
            gid = await _admin_group(alice)
            await alice.set_group_role(gid, "carol", "admin")
            await _fails(ErrorCode.FORBIDDEN, bob.remove_group_member(gid, "alice"))
            await _fails(ErrorCode.FORBIDDEN, alice.remove_group_member(gid, "alice"))
            group = await alice.remove_group_member(gid, "bob")
            assert roles(group) == {"alice": "owner", "carol": "admin", "dave": "member"}


async def test_only_the_owner_changes_roles_and_never_their_own(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            gid = await _admin_group(alice)
            await _fails(ErrorCode.FORBIDDEN, bob.set_group_role(gid, "carol", "admin"))
            await _fails(ErrorCode.FORBIDDEN, carol.set_group_role(gid, "carol", "admin"))
            await _fails(ErrorCode.FORBIDDEN, alice.set_group_role(gid, "alice", "member"))
            await _fails(ErrorCode.NOT_FOUND, alice.set_group_role(gid, "zed", "admin"))
            group = await alice.set_group_role(gid, "bob", "member")
            assert roles(group)["bob"] == "member"
            assert (await alice.get_group(gid)).owner == "alice"


async def test_owner_leaving_hands_ownership_to_the_oldest_admin(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "dave") as (alice, dave):
            group = await alice.create_group("team", ["bob", "carol", "dave"])
            await alice.set_group_role(group.group_id, "dave", "admin")
            await alice.set_group_role(group.group_id, "carol", "admin")
            await alice.leave_group(group.group_id)
            after = await dave.get_group(group.group_id)
            # carol joined before dave: she is the oldest admin, though promoted later.
            assert after.owner == "carol"
            assert roles(after) == {"bob": "member", "carol": "owner", "dave": "admin"}
            await _fails(ErrorCode.FORBIDDEN, alice.get_group(group.group_id))


async def test_owner_leaving_without_admins_hands_ownership_to_the_oldest_member(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob") as (alice, bob):
            group = await alice.create_group("team", ["bob", "carol"])
            await alice.leave_group(group.group_id)
            after = await bob.get_group(group.group_id)
            assert roles(after) == {"bob": "owner", "carol": "member"}
            assert after.owner == "bob"
            # The new owner now has the owner's powers.
            await bob.set_group_role(group.group_id, "carol", "admin")


async def test_a_member_leaving_keeps_the_owner_and_the_last_leaving_deletes(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice", "bob") as (alice, bob):
            group = await alice.create_group("team", ["bob"])
            await bob.leave_group(group.group_id)
            assert roles(await alice.get_group(group.group_id)) == {"alice": "owner"}
            await alice.leave_group(group.group_id)
            await _fails(ErrorCode.NOT_FOUND, alice.get_group(group.group_id))
            await _fails(ErrorCode.NOT_FOUND, alice.leave_group(group.group_id))
            assert await alice.list_groups() == ()


async def test_max_group_members_counts_the_owner(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        await utd_engine.set_plan(limits={"max_group_members": 3, "max_chatrooms": 50})
        async with apis(utd_engine, "alice") as (alice,):
            error = await _fails(
                ErrorCode.LIMIT_EXCEEDED, alice.create_group("big", ["b", "c", "d"])
            )
            assert error.status == 403
            group = await alice.create_group("full", ["b", "c"])
            await _fails(ErrorCode.LIMIT_EXCEEDED, alice.add_group_members(group.group_id, ["d"]))
            await alice.add_group_members(group.group_id, ["b"])  # already in: still fits
            await alice.remove_group_member(group.group_id, "c")
            assert "d" in roles(await alice.add_group_members(group.group_id, ["d"]))


async def test_max_chatrooms_caps_the_groups_a_user_owns(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        await utd_engine.set_plan(limits={"max_group_members": 10, "max_chatrooms": 2})
        async with apis(utd_engine, "alice", "bob") as (alice, bob):
            first = await alice.create_group("one", ["bob"])
            await alice.create_group("two", [])
            await _fails(ErrorCode.LIMIT_EXCEEDED, alice.create_group("three", []))
            await bob.create_group("bob's", [])  # membership elsewhere does not count
            await alice.leave_group(first.group_id)  # bob inherits it
            await alice.create_group("three", [])
            await _fails(ErrorCode.LIMIT_EXCEEDED, bob.create_group("bob's 3", []))
