"""POST /api/v1/auth/session over real loopback HTTP(S)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from utd_trio.testing import OMIT, Engine, ProjectConfig, open_engine

from ._helpers import TIMEOUT, http_client, key_headers, mint_response, secret_headers


async def test_mint_success_http(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, "alice")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["ws_url"] == utd_engine.ws_url
    assert utd_engine.ws_url.startswith("ws://127.0.0.1:")
    assert isinstance(body["user_token"], str)
    assert body["user_token"]
    assert body["expires_in"] == 3600
    assert body["signaling_enabled"] is True
    assert body["messaging_enabled"] is True
    assert body["limits"] == {
        "history_days": 30,
        "max_group_members": 256,
        "max_friends": 1000,
        "max_chatrooms": 50,
    }
    assert utd_engine.mint_count("alice") == 1
    assert utd_engine.mint_count() == 1


async def test_mint_success_https_with_secret(utd_engine_tls: Engine) -> None:
    engine = utd_engine_tls
    assert engine.base_url.startswith("https://127.0.0.1:")
    assert engine.ws_url.startswith("wss://127.0.0.1:")
    with trio.fail_after(TIMEOUT):
        response = await mint_response(engine, "svc.bot@x", headers=secret_headers(engine))
    assert response.status_code == 200
    assert response.json()["ws_url"] == engine.ws_url


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-App-Id": "nope", "X-App-Key": "key_test"}, "unknown app"),
        ({"X-App-Id": "app_test", "X-App-Key": "wrong"}, "wrong key"),
        ({"X-App-Id": "app_test", "X-App-Secret": "key_test"}, "key used as secret"),
        ({"X-App-Id": "app_test"}, "neither key nor secret"),
        ({"X-App-Key": "key_test"}, "no app id"),
    ],
)
async def test_mint_bad_credentials_401(
    utd_engine: Engine, headers: dict[str, str], why: str
) -> None:
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, "alice", headers=headers)
    assert response.status_code == 401, why
    assert response.json() == {"message": "Invalid credentials"}


async def test_mint_both_key_and_secret_422(utd_engine: Engine) -> None:
    headers = {**key_headers(utd_engine), "X-App-Secret": "secret_test"}
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, "alice", headers=headers)
    assert response.status_code == 422
    assert "message" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"identity": ""},
        {"identity": None},
        {"identity": 42},
        {"identity": "a b"},
        {"identity": "ålice"},
        {"identity": "x" * 129},
        {"identity": "alice", "name": "n" * 101},
        {"identity": "alice", "os": "o" * 51},
        {"identity": "alice", "os_version": "v" * 21},
        {"identity": "alice", "device_model": "d" * 101},
        {"identity": "alice", "app_version": "a" * 21},
        {"identity": "alice", "name": 5},
        ["alice"],
        "alice",
    ],
)
async def test_mint_invalid_body_422(utd_engine: Engine, body: Any) -> None:
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, body=body)
    assert response.status_code == 422
    assert isinstance(response.json()["message"], str)


@pytest.mark.parametrize("content", [b"", b"not json", b"{", b"\xff\xfe"])
async def test_mint_non_json_body_422(utd_engine: Engine, content: bytes) -> None:
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, content=content)
    assert response.status_code == 422


async def test_mint_missing_identity_message(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, body={"name": "Alice"})
    assert response.json()["message"] == "identity is required"


async def test_mint_accepts_full_profile_at_caps(utd_engine: Engine) -> None:
    body = {
        "identity": "A.b_c-d@e" + "x" * 119,
        "name": "n" * 100,
        "os": "o" * 50,
        "os_version": "v" * 20,
        "device_model": "d" * 100,
        "app_version": "a" * 20,
        "unknown_field": [1, 2],
    }
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, body=body)
    assert response.status_code == 200, response.text
    profile = utd_engine.state.profiles[("app_test", body["identity"])]
    assert profile.name == "n" * 100


async def test_check_order_credentials_before_body(utd_engine: Engine) -> None:
    headers = {"X-App-Id": "app_test", "X-App-Key": "wrong"}
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, headers=headers, content=b"garbage")
    assert response.status_code == 401


async def test_check_order_body_before_ban(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        await utd_engine.ban("alice")
        bad = await mint_response(utd_engine, body={"identity": "alice", "os": "o" * 99})
        banned = await mint_response(utd_engine, "alice")
        other = await mint_response(utd_engine, "bob")
    assert bad.status_code == 422
    assert banned.status_code == 403
    assert banned.json() == {"message": "User is banned", "code": "banned"}
    assert other.status_code == 200
    utd_engine.unban("alice")
    with trio.fail_after(TIMEOUT):
        assert (await mint_response(utd_engine, "alice")).status_code == 200


async def test_hardened_project_refuses_app_key_but_not_secret() -> None:
    hardened = ProjectConfig("app_h", "key_h", "secret_h", allow_appkey_identity_mint=False)
    with trio.fail_after(TIMEOUT):
        async with open_engine([hardened]) as engine:
            refused = await mint_response(engine, "alice")
            ok = await mint_response(engine, "alice", headers=secret_headers(engine))
            await engine.ban("carol")
            banned = await mint_response(engine, "carol")
    assert refused.status_code == 403
    assert refused.json()["code"] == "appkey_identity_mint_disabled"
    assert ok.status_code == 200
    assert banned.json()["code"] == "banned"  # the ban check comes before the mint policy


async def test_rate_limit_429_with_retry_after(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT + 61):  # virtual time
        async with open_engine(mint_rate_limit=3) as engine:
            codes = [(await mint_response(engine, "alice")).status_code for _ in range(3)]
            limited = await mint_response(engine, "alice")
            other = await mint_response(engine, "bob")  # per identity
            banned_first = await mint_response(engine, "alice", body={"identity": "x y"})
            await trio.sleep(20)
            still = await mint_response(engine, "alice")
            await trio.sleep(41)
            again = await mint_response(engine, "alice")
    assert codes == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too many requests"}
    assert limited.headers["retry-after"] == "60"
    assert other.status_code == 200
    assert banned_first.status_code == 422
    assert still.status_code == 429
    assert still.headers["retry-after"] == "40"
    assert again.status_code == 200


async def test_default_rate_limit_is_120_per_minute() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine() as engine:
            assert engine.state.settings.mint_rate_limit == 120


async def test_unknown_flags_and_limits_are_omitted() -> None:
    project = ProjectConfig(
        "app_u",
        "key_u",
        "secret_u",
        signaling_enabled=None,
        chat_enabled=False,
        limits={"history_days": None, "max_friends": 7},
    )
    with trio.fail_after(TIMEOUT):
        async with open_engine([project]) as engine:
            body = (await mint_response(engine)).json()
    assert "signaling_enabled" not in body
    assert body["messaging_enabled"] is False
    assert body["limits"] == {"history_days": None, "max_friends": 7}


async def test_limits_none_omits_limits() -> None:
    project = ProjectConfig("app_n", "k", "s", limits=None)
    with trio.fail_after(TIMEOUT):
        async with open_engine([project]) as engine:
            body = (await mint_response(engine)).json()
    assert "limits" not in body


async def test_wire_overrides_send_odd_types_and_camel_case() -> None:
    overrides: dict[str, object] = {
        "signaling_enabled": "true",
        "messaging_enabled": OMIT,
        "messagingEnabled": 0,
        "limits": {"historyDays": "30", "max_group_members": 256.0, "max_friends": None},
        "expires_in": OMIT,
    }
    project = ProjectConfig("app_w", "k", "s", wire_overrides=overrides)
    with trio.fail_after(TIMEOUT):
        async with open_engine([project]) as engine:
            raw = (await mint_response(engine)).content
    body = json.loads(raw)
    assert body["signaling_enabled"] == "true"
    assert "messaging_enabled" not in body
    assert body["messagingEnabled"] == 0
    assert body["limits"] == {"historyDays": "30", "max_group_members": 256.0, "max_friends": None}
    assert b"256.0" in raw
    assert "expires_in" not in body
    assert "user_token" in body


async def test_fail_next_mints(utd_engine: Engine) -> None:
    utd_engine.fail_next_mints(2, 503)
    utd_engine.fail_next_mints(1, 429, retry_after=2.5)
    with trio.fail_after(TIMEOUT):
        first = await mint_response(utd_engine, "alice")
        second = await mint_response(utd_engine, "bob", headers={"X-App-Id": "junk"})
        third = await mint_response(utd_engine, "carol")
        fourth = await mint_response(utd_engine, "alice")
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json() == {"message": "Service Unavailable"}
    assert third.status_code == 429
    assert third.headers["retry-after"] == "3"
    assert third.json()["message"] == "Too many requests"
    assert fourth.status_code == 200
    assert utd_engine.mint_count("alice") == 1
    assert utd_engine.stats.mint_requests == 4


async def test_fail_next_mints_custom_message_and_code(utd_engine: Engine) -> None:
    utd_engine.fail_next_mints(1, 403, message="Project suspended", code="suspended")
    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine)
    assert response.status_code == 403
    assert response.json() == {"message": "Project suspended", "code": "suspended"}


async def test_second_project_has_its_own_users() -> None:
    other = ProjectConfig("app_2", "key_2", "secret_2", signaling_enabled=False)
    with trio.fail_after(TIMEOUT):
        async with open_engine() as engine:
            engine.add_project(other)
            response = await mint_response(engine, "alice", headers=key_headers(engine, "app_2"))
            body = response.json()
            await engine.ban("alice", "app_2")
            default_ok = await mint_response(engine, "alice")
    assert body["signaling_enabled"] is False
    assert default_ok.status_code == 200
    assert engine.mint_count("alice", "app_2") == 1
    assert engine.mint_count("alice") == 1


async def test_unknown_path_is_json_404(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with http_client(utd_engine) as client:
            missing = await client.get("/api/v1/nothing")
            wrong_method = await client.get("/api/v1/auth/session")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not Found"}
    assert wrong_method.status_code == 405
    assert "message" in wrong_method.json()


async def test_huge_mint_body_413(utd_engine: Engine) -> None:
    content = json.dumps({"identity": "alice", "pad": "x" * 100_000}).encode()

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: checked while reading
        for start in range(0, len(content), 8192):
            yield content[start : start + 8192]

    with trio.fail_after(TIMEOUT):
        response = await mint_response(utd_engine, content=content)
        async with http_client(utd_engine) as client:
            streamed = await client.post(
                "/api/v1/auth/session", headers=key_headers(utd_engine), content=chunked()
            )
    assert response.status_code == 413
    assert streamed.status_code == 413
    assert "message" in response.json()
    assert "message" in streamed.json()
