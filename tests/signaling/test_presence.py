"""Presence across connect, disconnect and reconnect, including changes missed in a gap."""

from __future__ import annotations

import anyio
import pytest

from utd_trio import Connected, ErrorCode, PresenceChanged, PresenceInfo, UTDStreamError
from utd_trio.testing import Engine

from ._helpers import Creds, assert_quiet, collect_until, peers

pytestmark = pytest.mark.both_loops


async def test_subscribe_snapshot_then_online_and_offline_updates(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice") as (alice,):
            snapshot = await alice.sig.subscribe_presence(["bob", "carol", "bob"])
            assert snapshot == (PresenceInfo("bob", False, None), PresenceInfo("carol", False))
            assert alice.sig.presence_subscriptions == {"bob", "carol"}

            async with peers(utd_engine, creds, "bob", "bob") as (bob, _bob_laptop):
                online = await alice.next(PresenceChanged)
                assert online == PresenceChanged("bob", True, None)
                await assert_quiet(alice, PresenceChanged)  # the second device is no change
                assert alice.sig.known_presence("bob") == PresenceInfo("bob", True, None)
                (again,) = await bob.sig.subscribe_presence(["alice"])
                assert again == PresenceInfo("alice", True, None)
            offline = await alice.next(PresenceChanged)
            assert (offline.user_id, offline.online) == ("bob", False)
            assert offline.last_seen_at is not None
            (rest,) = await alice.sig.api.presence(["bob"])
            assert rest == PresenceInfo("bob", False, offline.last_seen_at)


async def test_only_subscribers_hear_and_unsubscribe_stops_updates(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "carol") as (alice, carol):
            await alice.sig.subscribe_presence(["bob"])
            async with peers(utd_engine, creds, "bob"):
                assert (await alice.next(PresenceChanged)).online
                await assert_quiet(carol, PresenceChanged)
                await alice.sig.unsubscribe_presence(["bob", "nobody"])
                assert alice.sig.presence_subscriptions == frozenset()
                assert alice.sig.known_presence("bob") is None
            await utd_engine.wait_socket_count("bob", 0)
            await assert_quiet(alice, PresenceChanged)


async def test_rest_presence_one_shot(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, _bob):
            users = await alice.sig.api.presence(["bob", "zed"])
            assert users == (PresenceInfo("bob", True, None), PresenceInfo("zed", False, None))
            assert await alice.sig.api.presence([]) == ()


async def test_reconnect_publishes_changes_missed_during_the_gap(
    utd_engine: Engine, creds: Creds
) -> None:
    fast = {"backoff_base": 0.01, "backoff_cap": 0.05}
    with anyio.fail_after(15):
        async with peers(utd_engine, creds, "alice", **fast) as (alice,):
            async with peers(utd_engine, creds, "bob", "carol") as (_bob, _carol):
                await alice.sig.subscribe_presence(["bob", "carol", "dave"])
                leaving = utd_engine.sockets("bob") + utd_engine.sockets("carol")
                utd_engine.fail_next_mints(10_000, 503)  # alice stays away until cleared
                await utd_engine.drop_sockets("alice", code=1011)
            for socket in leaving:  # bob and carol left while alice was away...
                await socket.wait_finished()
            utd_engine.state.mint_failures.clear()  # ...and alice comes back
            skipped, back = await collect_until(alice, Connected)
            assert back.generation == 2
            assert not [ev for ev in skipped if isinstance(ev, PresenceChanged)]
            missed = {(await alice.next(PresenceChanged)).user_id for _ in range(2)}
            assert missed == {"bob", "carol"}  # dave never changed: no event
            await assert_quiet(alice, PresenceChanged)
            known = alice.sig.known_presence("bob")
            assert known is not None
            assert not known.online
            assert known.last_seen_at is not None


async def test_reconnect_without_changes_publishes_nothing(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, _bob):
            await alice.sig.subscribe_presence(["bob", "carol"])
            await utd_engine.drop_sockets("alice")
            await collect_until(alice, Connected)
            await utd_engine.wait_socket_count("alice", 1)
            async with peers(utd_engine, creds, "carol"):
                # Whichever comes first — the re-subscription or carol — alice must hear
                # exactly "carol online", never a spurious "bob".
                assert await alice.next(PresenceChanged) == PresenceChanged("carol", True)
                await assert_quiet(alice, PresenceChanged)


async def test_watched_user_reconnecting_is_online_again(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, bob):
            await alice.sig.subscribe_presence(["bob"])
            await utd_engine.drop_sockets("bob")
            assert not (await alice.next(PresenceChanged)).online
            assert (await alice.next(PresenceChanged)).online
            await bob.sig.wait_connected(5)


async def test_bad_input_and_the_connection_keeps_working(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, creds, "alice") as (alice,):
            sig = alice.sig
            with pytest.raises(ValueError, match="user_ids"):
                await sig.subscribe_presence("bob")  # a str is not a list of ids
            with pytest.raises(ValueError, match="user_ids"):
                await sig.subscribe_presence(["bad id"])
            with pytest.raises(ValueError, match="1000"):
                await sig.subscribe_presence([f"u{i}" for i in range(1001)])
            with pytest.raises(ValueError, match="user_ids"):
                await sig.unsubscribe_presence([""])
            for data in ({"user_ids": "bob"}, {"user_ids": [1]}, {}, {"user_ids": ["x"] * 1001}):
                with pytest.raises(UTDStreamError) as info:
                    await sig.request("presence.subscribe", data)
                assert info.value.code is ErrorCode.INVALID
            many = [f"u{i}" for i in range(1000)]
            assert len(await sig.subscribe_presence(many)) == 1000
            assert await sig.subscribe_presence([]) == ()
