"""Engine, contract §11: backend REST (broadcast, channel list, users) and the signaling gate."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from utd_trio.testing import Engine

from ._channel_helpers import backend, broadcast, open_peer, open_peers
from ._helpers import TIMEOUT, http_client, key_headers, mint

EVENTS = "/api/v1/channels/events"
GOOD = {"name": "score", "channels": ["lobby"], "data": {"home": 1}}


def _wrong_credentials(engine: Engine) -> list[dict[str, str]]:
    project = engine.default_project
    return [
        {},
        {"X-App-Id": project.app_id},
        {"X-App-Id": project.app_id, "X-App-Secret": "nope"},
        {"X-App-Id": project.app_id, "X-App-Secret": ""},
        {"X-App-Id": "unknown", "X-App-Secret": project.app_secret},
        {"X-App-Secret": project.app_secret},
        key_headers(engine),
        {"X-App-Id": project.app_id, "X-App-Secret": project.app_key},
    ]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", EVENTS, GOOD),
        ("POST", EVENTS, {"name": "client-bad"}),  # 401 before 422
        ("GET", "/api/v1/channels", None),
        ("GET", "/api/v1/channels/presence-x/users", None),
        ("GET", "/api/v1/channels/public/users", None),  # 401 before 422
    ],
)
async def test_backend_needs_the_server_secret(
    utd_engine: Engine, method: str, path: str, body: Any
) -> None:
    with trio.fail_after(TIMEOUT):
        token = await mint(utd_engine, "alice")
        variants = [*_wrong_credentials(utd_engine), {"Authorization": f"Bearer {token}"}]
        async with http_client(utd_engine) as client:
            for headers in variants:
                response = await backend(
                    utd_engine, method, path, headers=headers, json=body, client=client
                )
                assert response.status_code == 401, headers
                assert response.json() == {"message": "Invalid credentials"}


async def test_broadcast_reaches_subscribers_without_user_id(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob", "carol") as (alice, bob, carol):
            await alice.join("lobby")
            await bob.join("private-vip")
            await bob.join("presence-room")
            response = await broadcast(
                utd_engine,
                name="goal",
                channels=["lobby", "private-vip", "presence-room"],
                data=[1],
            )
            assert (response.status_code, response.json()) == (200, {"ok": True})
            assert await alice.next_event("channel.event") == {
                "channel": "lobby",
                "event": "goal",
                "data": [1],
            }
            assert (await bob.next_event("channel.event"))["channel"] == "private-vip"
            assert (await bob.next_event("channel.event"))["channel"] == "presence-room"
            await carol.quiet()


async def test_broadcast_excludes_socket_id_and_dedupes_names(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "alice", "bob") as (alice1, alice2, bob):
            for peer in (alice1, alice2, bob):
                await peer.join("lobby")
            response = await broadcast(
                utd_engine,
                name="e",
                channels=["lobby", "lobby", "empty"],
                data=None,
                socket_id=alice1.socket_id,
            )
            assert response.status_code == 200
            assert (await alice2.next_event("channel.event"))["data"] is None
            assert (await bob.next_event("channel.event"))["event"] == "e"
            for peer in (alice1, alice2, bob):
                await peer.quiet()  # excluded socket: nothing; others: exactly once
            with_null = await broadcast(
                utd_engine, name="e", channels=["lobby"], data=0, socket_id=None
            )
            assert with_null.status_code == 200
            assert (await alice1.next_event("channel.event"))["data"] == 0


def _bad_bodies() -> list[Any]:
    many = [f"c{i}" for i in range(101)]
    return [
        [],
        "text",
        {"channels": ["lobby"], "data": 1},
        {**GOOD, "name": ""},
        {**GOOD, "name": "x" * 201},
        {**GOOD, "name": "client-move"},
        {**GOOD, "name": 5},
        {**GOOD, "channels": []},
        {**GOOD, "channels": many},
        {**GOOD, "channels": "lobby"},
        {**GOOD, "channels": ["ok", "bad name"]},
        {**GOOD, "channels": ["private-encrypted-x"]},
        {"name": "e", "channels": ["lobby"]},
        {**GOOD, "socket_id": "sock_abc"},
        {**GOOD, "socket_id": 12.5},
    ]


async def test_broadcast_body_422(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with http_client(utd_engine) as client:
            for body in _bad_bodies():
                response = await backend(utd_engine, "POST", EVENTS, json=body, client=client)
                assert response.status_code == 422, body
                assert response.json()["code"] == "invalid"
        longest = await broadcast(
            utd_engine, **{**GOOD, "name": "x" * 200, "channels": ["c"] * 100}
        )
        assert longest.status_code == 200


async def test_broadcast_data_over_10_kib_is_413(utd_engine: Engine) -> None:
    body = "é" * ((10 * 1024 - 2) // 2)  # exactly 10 KiB of compact JSON
    with trio.fail_after(TIMEOUT):
        assert (await broadcast(utd_engine, **{**GOOD, "data": body})).status_code == 200
        too_big = await broadcast(utd_engine, **{**GOOD, "data": body + "x"})
    assert too_big.status_code == 413


async def test_channel_list_prefix_and_counts(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "alice", "bob") as (alice1, alice2, bob):
            for peer in (alice1, alice2, bob):
                await peer.join("presence-room")
            await bob.join("private-x")
            await alice1.join("lobby")
            everything = await backend(utd_engine, "GET", "/api/v1/channels")
            presence = await backend(
                utd_engine, "GET", "/api/v1/channels", params={"prefix": "presence-"}
            )
            none = await backend(utd_engine, "GET", "/api/v1/channels", params={"prefix": "zzz"})
    assert everything.json() == {
        "data": [
            {"channel": "lobby", "subscription_count": 1},
            {"channel": "presence-room", "subscription_count": 3, "user_count": 2},
            {"channel": "private-x", "subscription_count": 1},
        ]
    }
    assert presence.json()["data"] == [everything.json()["data"][1]]
    assert none.json() == {"data": []}


async def test_users_path_is_percent_encoded(utd_engine: Engine) -> None:
    channel = "presence-a=b@c,d;e.f"
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            await peer.join(channel)
            encoded = "presence-a%3Db%40c%2Cd%3Be.f"
            users = await backend(utd_engine, "GET", f"/api/v1/channels/{encoded}/users")
            plain = await backend(utd_engine, "GET", f"/api/v1/channels/{channel}/users")
            empty = await backend(utd_engine, "GET", "/api/v1/channels/presence-empty/users")
            not_presence = await backend(utd_engine, "GET", "/api/v1/channels/private-x/users")
            slash = await backend(utd_engine, "GET", "/api/v1/channels/presence-a%2Fb/users")
    assert users.json() == {"data": [{"user_id": "alice"}]}
    assert plain.json() == users.json()
    assert empty.json() == {"data": []}
    assert not_presence.status_code == 422
    assert slash.status_code == 422


async def test_gate_covers_every_request_and_path(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            await peer.join("private-room")
            await utd_engine.set_plan(signaling_enabled=False)
            await peer.next_event("capabilities.updated")
            requests = [
                ("channel.subscribe", {"channel": "lobby"}),
                (
                    "channel.subscribe",
                    {"channel": "bad name"},
                ),  # the gate comes first on the socket
                ("channel.unsubscribe", {"channel": "private-room"}),
                ("channel.trigger", {"channel": "private-room", "event": "client-x", "data": 1}),
            ]
            for event, data in requests:
                error = await peer.fail(event, data)
                assert (error["status"], error["code"]) == (403, "feature_disabled"), event
                assert error["message"] == "Signaling is not enabled for this plan"
            for method, path, body in [
                ("POST", EVENTS, GOOD),
                ("GET", "/api/v1/channels", None),
                ("GET", "/api/v1/channels/presence-x/users", None),
            ]:
                response = await backend(utd_engine, method, path, json=body)
                assert response.status_code == 403, path
                assert response.json()["code"] == "feature_disabled"
            # REST order 401 -> 422 -> 403: a bad body is 422 even with the gate closed.
            assert (
                await backend(utd_engine, "POST", EVENTS, json={"name": "e"})
            ).status_code == 422
            not_presence = await backend(utd_engine, "GET", "/api/v1/channels/lobby/users")
            assert not_presence.status_code == 422
            await utd_engine.set_plan(signaling_enabled=None)  # unknown lets it through
            await peer.next_event("capabilities.updated")
            await peer.ok(
                "channel.trigger", {"channel": "private-room", "event": "client-x", "data": 1}
            )
