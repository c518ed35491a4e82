"""Engine, contract §11: presence members are users - joins, second sockets, leaves, closes, cap."""

from __future__ import annotations

from contextlib import AsyncExitStack

import trio

from utd_trio.testing import Engine

from ._channel_helpers import backend, open_issued_peer, open_peer, open_peers
from ._helpers import TIMEOUT

ROOM = "presence-room"


async def test_join_tells_the_others_and_never_the_joiner(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob") as (alice, bob):
            assert (await alice.join(ROOM, {"name": "Alice"}))["members"] == [
                {"user_id": "alice", "user_info": {"name": "Alice"}}
            ]
            ack = await bob.join(ROOM)
            assert ack["members"] == [
                {"user_id": "alice", "user_info": {"name": "Alice"}},
                {"user_id": "bob", "user_info": {}},
            ]
            added = await alice.next_event("channel.member_added")
            assert added == {"channel": ROOM, "user_id": "bob", "user_info": {}}
            await bob.quiet()
            await alice.quiet()


async def test_a_second_socket_adds_nobody_and_keeps_the_first_user_info(
    utd_engine: Engine,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob", "bob") as (alice, bob1, bob2):
            await alice.join(ROOM)
            await bob1.join(ROOM, {"device": "phone"})
            await alice.next_event("channel.member_added")
            ack = await bob2.join(ROOM, {"device": "laptop"})
            assert ack["members"] == [
                {"user_id": "alice", "user_info": {}},
                {"user_id": "bob", "user_info": {"device": "phone"}},
            ]
            await alice.quiet()
            await bob1.quiet()
            users = await backend(utd_engine, "GET", f"/api/v1/channels/{ROOM}/users")
            assert users.json() == {"data": [{"user_id": "alice"}, {"user_id": "bob"}]}
            listed = await backend(utd_engine, "GET", "/api/v1/channels")
            assert listed.json() == {
                "data": [{"channel": ROOM, "subscription_count": 3, "user_count": 2}]
            }


async def test_removed_only_when_the_users_last_socket_leaves(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob", "bob") as (alice, bob1, bob2):
            await alice.join(ROOM)
            await bob1.join(ROOM)
            await bob2.join(ROOM)
            await alice.next_event("channel.member_added")
            await bob1.ok("channel.unsubscribe", {"channel": ROOM})
            await alice.quiet()
            await bob2.quiet()
            await bob2.ok("channel.unsubscribe", {"channel": ROOM})
            assert await alice.next_event("channel.member_removed") == {
                "channel": ROOM,
                "user_id": "bob",
            }
            await bob1.quiet()  # neither of bob's sockets is told about bob leaving
            await bob2.quiet()
            again = await bob1.join(ROOM, {"back": True})
            assert again["members"][-1] == {"user_id": "bob", "user_info": {"back": True}}
            assert (await alice.next_event("channel.member_added"))["user_info"] == {"back": True}


async def test_socket_close_removes_the_member(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as alice:
            await alice.join(ROOM)
            await alice.join("private-also")
            async with open_peer(utd_engine, "bob") as bob:
                await bob.join(ROOM)
                await bob.join("private-also")
                await alice.next_event("channel.member_added")
            removed = await alice.next_event("channel.member_removed")
            assert removed == {"channel": ROOM, "user_id": "bob"}
            listed = await backend(utd_engine, "GET", "/api/v1/channels")
            assert listed.json()["data"] == [
                {"channel": ROOM, "subscription_count": 1, "user_count": 1},
                {"channel": "private-also", "subscription_count": 1},
            ]
        await utd_engine.wait_socket_count("alice", 0)
        listed = await backend(utd_engine, "GET", "/api/v1/channels")
        users = await backend(utd_engine, "GET", f"/api/v1/channels/{ROOM}/users")
    assert listed.json() == {"data": []}
    assert users.json() == {"data": []}


async def test_engine_drop_of_one_of_two_sockets_keeps_the_member(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob") as (alice, bob1):
            await alice.join(ROOM)
            await bob1.join(ROOM)
            await alice.next_event("channel.member_added")
            async with open_peer(utd_engine, "bob") as bob2:
                await bob2.join(ROOM)
            await utd_engine.wait_socket_count("bob", 1)
            await alice.quiet()
            await utd_engine.drop_sockets(user_id="bob", code=4003)
            assert (await alice.next_event("channel.member_removed"))["user_id"] == "bob"


async def test_at_most_100_members_per_presence_channel(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT * 3):
        async with AsyncExitStack() as stack:
            members = [
                await stack.enter_async_context(open_issued_peer(utd_engine, f"u{i}"))
                for i in range(100)
            ]
            for member in members:
                await member.join(ROOM)
            newcomer = await stack.enter_async_context(open_issued_peer(utd_engine, "u100"))
            error = await newcomer.fail("channel.subscribe", newcomer.presence(ROOM))
            assert (error["status"], error["code"]) == (403, "limit_exceeded")
            # A member's second socket is no new member: it still gets in.
            second = await stack.enter_async_context(open_issued_peer(utd_engine, "u0"))
            assert len((await second.join(ROOM))["members"]) == 100
            await members[99].ok("channel.unsubscribe", {"channel": ROOM})
            assert len((await newcomer.join(ROOM))["members"]) == 100
