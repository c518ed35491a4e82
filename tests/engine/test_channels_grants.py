"""Engine, contract §11: the development grant endpoint, and grants made by Pusher's own library.

``pusher`` (the official Pusher Channels server library, a dev dependency) signs grants the
engine must accept byte for byte: code nobody here wrote, reading the same contract.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any, cast

import pusher  # pyright: ignore[reportMissingTypeStubs]
import pytest
import trio

from utd_trio.testing import Engine, ProjectConfig, open_engine

from ._channel_helpers import open_peer
from ._helpers import TIMEOUT, http_client, open_ws, recv, secret_headers

AUTH = "/api/v1/channels/auth"
PUSHER_PROJECT = ProjectConfig(
    app_id="424242", app_key="278d425bdf160c739803", app_secret="7ad3773142a6692b25b8"
)


async def _grant(engine: Engine, token: str | None, **kwargs: Any) -> tuple[int, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with http_client(engine) as client:
        response = await client.post(AUTH, headers=headers, **kwargs)
    return response.status_code, response.json()


async def _token(engine: Engine, user: str) -> str:
    async with http_client(engine) as client:
        response = await client.post(
            "/api/v1/auth/session", headers=secret_headers(engine), json={"identity": user}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["user_token"]
    return token


async def test_dev_grant_json_private_and_presence(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            token = await _token(utd_engine, "alice")
            body = {"socket_id": peer.socket_id, "channel_name": "private-x"}
            status, grant = await _grant(utd_engine, token, json=body)
            assert (status, set(grant)) == (200, {"auth"})
            assert await peer.ok("channel.subscribe", {"channel": "private-x", **grant})
            body = {
                "socket_id": peer.socket_id,
                "channel_name": "presence-x",
                "user_info": {"n": "é"},
            }
            status, grant = await _grant(utd_engine, token, json=body)
            assert status == 200
            assert grant["channel_data"] == '{"user_id":"alice","user_info":{"n":"é"}}'
            ack = await peer.ok("channel.subscribe", {"channel": "presence-x", **grant})
            assert ack["members"] == [{"user_id": "alice", "user_info": {"n": "é"}}]
            bare = {"socket_id": peer.socket_id, "channel_name": "presence-y"}
            status, grant = await _grant(utd_engine, token, json=bare)
            assert grant["channel_data"] == '{"user_id":"alice"}'
            ack = await peer.ok("channel.subscribe", {"channel": "presence-y", **grant})
            assert ack["members"] == [{"user_id": "alice", "user_info": {}}]


async def test_dev_grant_form_body(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            token = await _token(utd_engine, "alice")
            form = {
                "socket_id": peer.socket_id,
                "channel_name": "presence-f",
                "user_info": json.dumps({"name": "Al"}),
            }
            status, grant = await _grant(utd_engine, token, data=form)
            assert status == 200
            ack = await peer.ok("channel.subscribe", {"channel": "presence-f", **grant})
            assert ack["members"] == [{"user_id": "alice", "user_info": {"name": "Al"}}]
            bad_form = {**form, "user_info": "{not json"}
            assert (await _grant(utd_engine, token, data=bad_form))[0] == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"socket_id": "1.2"},
        {"channel_name": "private-x"},
        {"socket_id": "sock_1", "channel_name": "private-x"},
        {"socket_id": "1.2", "channel_name": "bad name"},
        {"socket_id": "1.2", "channel_name": "lobby"},  # a public channel needs no grant
        {"socket_id": "1.2", "channel_name": "private-encrypted-x"},
        {"socket_id": "1.2", "channel_name": "presence-x", "user_info": "text"},
        {"socket_id": "1.2", "channel_name": "presence-x", "user_info": {"k": "x" * 1100}},
    ],
)
async def test_dev_grant_body_422(utd_engine: Engine, body: dict[str, Any]) -> None:
    with trio.fail_after(TIMEOUT):
        token = await _token(utd_engine, "alice")
        await utd_engine.set_plan(signaling_enabled=False, allow_appkey_identity_mint=False)
        status, error = await _grant(utd_engine, token, json=body)
    assert (status, error["code"]) == (422, "invalid")  # 422 before any 403


async def test_dev_grant_order_of_403s(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as alice, open_peer(utd_engine, "bob") as bob:
            token = await _token(utd_engine, "alice")
            assert (await _grant(utd_engine, None, json={}))[0] == 401
            assert (await _grant(utd_engine, "utk_wrong", json={}))[0] == 401
            mine = {"socket_id": alice.socket_id, "channel_name": "private-x"}
            others = {"socket_id": bob.socket_id, "channel_name": "private-x"}
            status, error = await _grant(utd_engine, token, json=others)
            assert (status, error["code"]) == (403, "forbidden")
            await utd_engine.set_plan(allow_appkey_identity_mint=False)
            status, error = await _grant(utd_engine, token, json=others)
            assert (status, error["code"]) == (403, "appkey_identity_mint_disabled")
            await utd_engine.set_plan(signaling_enabled=False)
            status, error = await _grant(utd_engine, token, json=mine)
            assert (status, error["code"]) == (403, "feature_disabled")


async def test_dev_grant_for_a_closed_socket_is_forbidden(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        token = await _token(utd_engine, "alice")
        async with open_ws(utd_engine, token) as ws:
            socket_id = (await recv(ws))["data"]["socket_id"]
        await utd_engine.wait_socket_count("alice", 0)
        status, error = await _grant(
            utd_engine, token, json={"socket_id": socket_id, "channel_name": "private-x"}
        )
    assert (status, error["code"]) == (403, "forbidden")


# ---- grants made by the official Pusher server library ------------------------------------


class _CompactEncoder(json.JSONEncoder):
    """Makes ``pusher`` serialise ``channel_data`` the way the engine's dev endpoint does."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(separators=(",", ":"), ensure_ascii=False)
        super().__init__(**kwargs)


def _pusher(project: ProjectConfig, **kwargs: Any) -> Any:
    return pusher.Pusher(
        app_id=project.app_id, key=project.app_key, secret=project.app_secret, **kwargs
    )


def _authenticate(client: Any, channel: str, socket_id: str, custom_data: Any = None) -> Any:
    grant = client.authenticate(channel=channel, socket_id=socket_id, custom_data=custom_data)
    return cast(dict[str, Any], grant)


@pytest.fixture
async def pusher_engine() -> AsyncGenerator[Engine]:
    async with open_engine([PUSHER_PROJECT]) as engine:
        yield engine


async def test_pusher_private_grants_are_accepted(pusher_engine: Engine) -> None:
    client = _pusher(PUSHER_PROJECT)
    with trio.fail_after(TIMEOUT):
        async with open_peer(pusher_engine, "alice") as peer:
            grant = _authenticate(client, "private-doc", peer.socket_id)
            assert set(grant) == {"auth"}
            assert await peer.ok("channel.subscribe", {"channel": "private-doc", **grant})
            signed = _authenticate(client, "private-data", peer.socket_id, {"any": "thing"})
            assert await peer.ok("channel.subscribe", {"channel": "private-data", **signed})
            elsewhere = _authenticate(client, "private-doc", "123.456")
            refused = await peer.fail("channel.subscribe", {"channel": "private-doc", **elsewhere})
            assert refused["code"] == "forbidden"
            token = await _token(pusher_engine, "alice")
            body = {"socket_id": peer.socket_id, "channel_name": "private-doc"}
            status, ours = await _grant(pusher_engine, token, json=body)
    assert status == 200
    assert ours == grant  # the engine's dev grant is Pusher's, byte for byte


async def test_pusher_presence_grants_are_accepted(pusher_engine: Engine) -> None:
    info = {"name": "Zoë", "tags": ["a", 1, None]}
    with trio.fail_after(TIMEOUT):
        async with (
            open_peer(pusher_engine, "alice") as alice,
            open_peer(pusher_engine, "bob") as bob,
        ):
            client = _pusher(PUSHER_PROJECT)
            # Pusher's default JSON (spaces, \\u escapes) is signed exactly as sent.
            grant = _authenticate(
                client, "presence-doc", alice.socket_id, {"user_id": "alice", "user_info": info}
            )
            assert "\\u00eb" in grant["channel_data"]
            ack = await alice.ok("channel.subscribe", {"channel": "presence-doc", **grant})
            assert ack["members"] == [{"user_id": "alice", "user_info": info}]
            impostor = _authenticate(client, "presence-doc", bob.socket_id, {"user_id": "alice"})
            refused = await bob.fail("channel.subscribe", {"channel": "presence-doc", **impostor})
            assert refused["code"] == "forbidden"
            compact = _pusher(PUSHER_PROJECT, json_encoder=_CompactEncoder)
            theirs = _authenticate(
                compact, "presence-doc", bob.socket_id, {"user_id": "bob", "user_info": info}
            )
            token = await _token(pusher_engine, "bob")
            body = {"socket_id": bob.socket_id, "channel_name": "presence-doc", "user_info": info}
            status, ours = await _grant(pusher_engine, token, json=body)
            assert (status, ours) == (200, theirs)  # same channel_data, same signature
            ack = await bob.ok("channel.subscribe", {"channel": "presence-doc", **theirs})
            assert [m["user_id"] for m in ack["members"]] == ["alice", "bob"]
            assert (await alice.next_event("channel.member_added"))["user_info"] == info
