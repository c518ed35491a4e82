"""Engine, contract §11: channel.subscribe / unsubscribe - names, grants, order, caps, sets."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import trio

from utd_trio.testing import Engine, open_engine
from utd_trio.testing._channels import channels_of

from ._channel_helpers import Peer, broadcast, open_peer, open_peers, sign
from ._helpers import TIMEOUT, http_client


async def test_socket_id_is_pusher_shaped_and_new_per_connection(utd_engine: Engine) -> None:
    seen: set[str] = set()
    with trio.fail_after(TIMEOUT):
        for _ in range(3):
            async with open_peer(utd_engine, "alice") as peer:
                assert re.fullmatch(r"[0-9]+\.[0-9]+", peer.socket_id), peer.socket_id
                seen.add(peer.socket_id)
    assert len(seen) == 3


async def test_public_subscribe_ack_and_unsubscribe(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            assert await peer.ok("channel.subscribe", {"channel": "lobby"}) == {"channel": "lobby"}
            # A public channel ignores whatever auth it is given.
            again = {"channel": "lobby", "auth": "nonsense"}
            assert await peer.ok("channel.subscribe", again) == {"channel": "lobby"}
            assert await peer.ok("channel.unsubscribe", {"channel": "lobby"}) == {}
            assert await peer.ok("channel.unsubscribe", {"channel": "never-held"}) == {}


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 165,
        "has space",
        "slash/es",
        "caf\u00e9",
        "private-encrypted-secrets",
        None,
        42,
        ["lobby"],
    ],
)
async def test_bad_channel_names_are_422(utd_engine: Engine, name: Any) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            for event in ("channel.subscribe", "channel.unsubscribe"):
                error = await peer.fail(event, {"channel": name, "auth": "k:s"})
                assert (error["status"], error["code"]) == (422, "invalid")


async def test_longest_name_and_every_allowed_character(utd_engine: Engine) -> None:
    longest = "A" * 164
    allowed = "private-Az09_-=@,.;"
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            assert (await peer.join(longest))["channel"] == longest
            assert (await peer.join(allowed))["channel"] == allowed


def _bad_grants(peer: Peer) -> list[dict[str, Any]]:
    channel = "private-room"
    good = sign(peer.project, peer.socket_id, channel, None)
    key, _, digest = good.partition(":")
    return [
        {"channel": channel},  # no auth
        {"channel": channel, "auth": None},
        {"channel": channel, "auth": 17},
        {"channel": channel, "auth": digest},  # no ':'
        {"channel": channel, "auth": f"wrong_key:{digest}"},
        {
            "channel": channel,
            "auth": f"{key}:{digest[:-1]}0" if digest[-1] != "0" else f"{key}:{digest[:-1]}1",
        },
        {"channel": channel, "auth": f"{key}:{digest.upper()}"},
        {"channel": channel, "auth": sign(peer.project, "1.2", channel, None)},  # other socket
        {"channel": channel, "auth": sign(peer.project, peer.socket_id, "private-other", None)},
        {"channel": channel, "auth": good, "channel_data": {"user_id": "alice"}},  # not a string
        {"channel": channel, "auth": good, "channel_data": 5},
        {"channel": channel, "auth": good, "channel_data": ""},  # carried: S would end in ':'
    ]


async def test_private_grant_checks_are_403_forbidden(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            for data in _bad_grants(peer):
                error = await peer.fail("channel.subscribe", data)
                assert (error["status"], error["code"]) == (403, "forbidden"), data
            assert await peer.ok("channel.subscribe", peer.grant("private-room")) == {
                "channel": "private-room"
            }


async def test_channel_data_null_is_absent_and_empty_string_is_carried(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            absent = {**peer.grant("private-a"), "channel_data": None}
            assert await peer.ok("channel.subscribe", absent) == {"channel": "private-a"}
            carried = peer.grant("private-b", "")
            assert carried["auth"] == sign(peer.project, peer.socket_id, "private-b:", None)
            assert await peer.ok("channel.subscribe", carried) == {"channel": "private-b"}
            # A private channel's channel_data is signed, its content not checked.
            odd = peer.grant("private-c", "not json at all")
            assert await peer.ok("channel.subscribe", odd) == {"channel": "private-c"}


async def test_presence_grant_needs_channel_data_naming_this_user(utd_engine: Engine) -> None:
    channel = "presence-room"
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            refused = [
                peer.grant(channel),  # no channel_data
                peer.presence(channel, user_id="bob"),
                peer.grant(channel, json.dumps({"user_info": {}})),
                peer.grant(channel, json.dumps({"user_id": 7})),
                peer.grant(channel, json.dumps(["alice"])),
                peer.grant(channel, "{not json"),
            ]
            for data in refused:
                error = await peer.fail("channel.subscribe", data)
                assert (error["status"], error["code"]) == (403, "forbidden"), data
            ack = await peer.ok("channel.subscribe", peer.presence(channel, {"name": "Al"}))
            assert ack == {
                "channel": channel,
                "members": [{"user_id": "alice", "user_info": {"name": "Al"}}],
            }


@pytest.mark.parametrize(
    ("info", "expected"),
    [(None, {}), ({}, {}), ({"a": [1, None, "é"]}, {"a": [1, None, "é"]})],
)
async def test_user_info_null_or_object(utd_engine: Engine, info: Any, expected: Any) -> None:
    data_info = {"user_id": "alice", "user_info": info}
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            ack = await peer.ok(
                "channel.subscribe", peer.grant("presence-r", json.dumps(data_info))
            )
    assert ack["members"] == [{"user_id": "alice", "user_info": expected}]


def _info_of_size(size: int) -> dict[str, str]:
    # Compact JSON {"k":"…"} is 8 bytes plus the value; é is 2 bytes of UTF-8.
    body = size - 8
    return {"k": "é" * (body // 2) + "x" * (body % 2)}


async def test_user_info_size_and_type_are_422(utd_engine: Engine) -> None:
    assert (
        len(json.dumps(_info_of_size(1024), separators=(",", ":"), ensure_ascii=False).encode())
        == 1024
    )
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            for bad in ("Al", 3, ["x"], _info_of_size(1025)):
                error = await peer.fail("channel.subscribe", peer.presence("presence-r", bad))
                assert (error["status"], error["code"]) == (422, "invalid"), bad
            # Exactly 1 KiB passes even though ASCII-escaped JSON would be far longer.
            data = peer.presence("presence-r", _info_of_size(1024))
            assert (await peer.ok("channel.subscribe", data))["channel"] == "presence-r"


async def test_order_name_then_grant_then_user_info_then_limits(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            bad_name = {"channel": "presence-bad name", "auth": "x"}
            assert (await peer.fail("channel.subscribe", bad_name))["status"] == 422
            bad_grant_and_info = {**peer.presence("presence-r", "not an object"), "auth": "k:0"}
            assert (await peer.fail("channel.subscribe", bad_grant_and_info))["code"] == "forbidden"
            for i in range(100):
                await peer.join(f"c{i}")
            bad_info = peer.presence("presence-r", "not an object")
            assert (await peer.fail("channel.subscribe", bad_info))["code"] == "invalid"
            full = await peer.fail("channel.subscribe", peer.presence("presence-r", {}))
            assert (full["status"], full["code"]) == (403, "limit_exceeded")
            bad_grant = {**peer.grant("private-z"), "auth": "k:0"}
            assert (await peer.fail("channel.subscribe", bad_grant))["code"] == "forbidden"


async def test_at_most_100_channels_per_socket(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            for i in range(100):
                await peer.join(f"c{i}")
            error = await peer.fail("channel.subscribe", {"channel": "c100"})
            assert (error["status"], error["code"]) == (403, "limit_exceeded")
            await peer.join("c5")  # a repeat of a held channel is fine at the cap
            await peer.ok("channel.unsubscribe", {"channel": "c0"})
            await peer.join("c100")
            session = utd_engine.state.sockets.of_user("app_test", "alice")[0]
            assert len(channels_of(session)) == 100
        async with open_peer(utd_engine, "alice") as other:  # the cap is per socket
            await other.join("c100")


async def test_repeat_subscribe_is_idempotent_and_rechecked(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob") as (alice, bob):
            first = await alice.join("presence-r", {"n": 1})
            again = await alice.ok("channel.subscribe", alice.presence("presence-r", {"n": 2}))
            assert again == first  # same members; the repeat changes no user_info
            refused = await alice.fail(
                "channel.subscribe", {**alice.grant("presence-r"), "auth": "k:0"}
            )
            assert refused["code"] == "forbidden"
            await bob.join("presence-r")
            assert await alice.next_event("channel.member_added") == {
                "channel": "presence-r",
                "user_id": "bob",
                "user_info": {},
            }
            await alice.quiet()  # the refused repeat left alice subscribed: no removal either
            await bob.quiet()


async def test_subscriptions_are_a_set(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            for _ in range(3):
                await peer.join("private-set")
            assert (
                await broadcast(utd_engine, name="e", channels=["private-set"], data=1)
            ).status_code == 200
            assert (await peer.next_event("channel.event"))["data"] == 1
            await peer.quiet()  # delivered once, not once per subscribe
            await peer.ok("channel.unsubscribe", {"channel": "private-set"})
            await broadcast(utd_engine, name="e", channels=["private-set"], data=2)
            await peer.quiet()  # one unsubscribe released it


async def test_channels_of_lists_what_a_socket_holds(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            session = utd_engine.state.sockets.of_user("app_test", "alice")[0]
            assert channels_of(session) == []
            for name in ("zeta", "private-a", "presence-b"):
                await peer.join(name)
            assert channels_of(session) == ["presence-b", "private-a", "zeta"]
            await peer.ok("channel.unsubscribe", {"channel": "zeta"})
            assert channels_of(session) == ["presence-b", "private-a"]


async def test_control_plane_lists_each_sockets_channels() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine(control_http=True) as engine, open_peer(engine, "alice") as peer:
            await peer.join("private-a")
            await peer.join("lobby")
            async with http_client(engine) as client:
                response = await client.get(f"{engine.control_url}/sockets")
    rows = response.json()["data"]
    assert [(row["socket_id"], row["channels"]) for row in rows] == [
        (peer.socket_id, ["lobby", "private-a"])
    ]
