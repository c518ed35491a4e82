"""REST routes added by domain modules: bearer auth, ban, capability gate, live registration."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing
from starlette.responses import Response

from utd_trio.testing import Engine, EngineError, ProjectConfig, RestContext, open_engine

from ._helpers import TIMEOUT, connect, http_client, mint, open_ws


async def _whoami(ctx: RestContext) -> dict[str, object]:
    return {"user_id": ctx.user.user_id, "app_id": ctx.user.app_id}


async def _create(ctx: RestContext) -> Response:
    body = await ctx.json()
    if "name" not in body:
        raise EngineError(422, "invalid", "name is required")
    from starlette.responses import JSONResponse

    return JSONResponse({"created": body["name"]}, status_code=201)


async def _public(ctx: RestContext) -> dict[str, object]:
    assert ctx.auth is None
    return {"ok": True}


def _install(engine: Engine) -> None:
    engine.registry.route("/api/v1/test/whoami", _whoami)
    engine.registry.route("/api/v1/test/things", _create, methods=["POST"], gate="chat")
    engine.registry.route("/api/v1/test/public", _public, auth=False)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer utk_nope", "Basic dXNlcjpwYXNz", "Token abc"],
)
async def test_bearer_401(utd_engine: Engine, authorization: str | None) -> None:
    _install(utd_engine)
    headers = {} if authorization is None else {"Authorization": authorization}
    with trio.fail_after(TIMEOUT):
        async with http_client(utd_engine) as client:
            response = await client.get("/api/v1/test/whoami", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid or expired token"


async def test_bearer_ok_then_revoked_then_banned(utd_engine: Engine) -> None:
    _install(utd_engine)
    with trio.fail_after(TIMEOUT):
        token = await mint(utd_engine, "alice")
        async with http_client(utd_engine) as client:
            auth = {"Authorization": f"bearer {token}"}
            ok = await client.get("/api/v1/test/whoami", headers=auth)
            utd_engine.revoke_tokens("alice")
            revoked = await client.get("/api/v1/test/whoami", headers=auth)
            fresh = {"Authorization": f"Bearer {await mint(utd_engine, 'alice')}"}
            await utd_engine.ban("alice")
            banned = await client.get("/api/v1/test/whoami", headers=fresh)
            public = await client.get("/api/v1/test/public")
    assert ok.json() == {"user_id": "alice", "app_id": "app_test"}
    assert revoked.status_code == 401
    assert banned.status_code == 403
    assert banned.json() == {"message": "User is banned", "code": "banned"}
    assert public.json() == {"ok": True}


async def test_token_expiry_on_rest(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT + 100):
        async with open_engine(token_ttl=60) as engine:
            _install(engine)
            token = await mint(engine, "alice")
            async with http_client(engine) as client:
                auth = {"Authorization": f"Bearer {token}"}
                before = await client.get("/api/v1/test/whoami", headers=auth)
                await trio.sleep(60)
                after = await client.get("/api/v1/test/whoami", headers=auth)
    assert before.status_code == 200
    assert after.status_code == 401


async def test_rest_gate_body_and_status() -> None:
    project = ProjectConfig("app_c", "k", "s", chat_enabled=False)
    with trio.fail_after(TIMEOUT):
        async with open_engine([project]) as engine:
            _install(engine)
            token = await mint(engine, "alice")
            async with http_client(engine) as client:
                auth = {"Authorization": f"Bearer {token}"}
                refused = await client.post("/api/v1/test/things", headers=auth, json={})
                await engine.set_plan(chat_enabled=True)
                bad = await client.post("/api/v1/test/things", headers=auth, content=b"[]")
                missing = await client.post("/api/v1/test/things", headers=auth, json={})
                created = await client.post("/api/v1/test/things", headers=auth, json={"name": "g"})
    assert refused.status_code == 403
    assert refused.json() == {
        "message": "Messaging is not enabled for this plan",
        "code": "feature_disabled",
    }
    assert bad.status_code == 422
    assert missing.json() == {"message": "name is required", "code": "invalid"}
    assert created.status_code == 201
    assert created.json() == {"created": "g"}


def test_gated_route_needs_auth() -> None:
    from utd_trio.testing import Registry

    with pytest.raises(ValueError, match="auth"):
        Registry().route("/x", _public, gate="chat", auth=False)


async def test_logs_never_carry_secrets_or_tokens(
    utd_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    project = utd_engine.default_project
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice"):
            pass
        token = await mint(utd_engine, "bob")
        utd_engine.revoke_tokens("bob")
        with pytest.raises(Exception):  # noqa: B017, PT011 - refused upgrade
            async with open_ws(utd_engine, token):
                pass  # pragma: no cover
        async with http_client(utd_engine) as client:
            await client.post(
                "/api/v1/auth/session",
                headers={"X-App-Id": project.app_id, "X-App-Secret": "wrong-secret"},
                json={"identity": "x"},
            )
    # The engine's own loggers (hypercorn's error log included); client libraries are not ours.
    engine_records = [r for r in caplog.records if r.name.startswith("utd_trio.testing")]
    text = "\n".join(record.getMessage() for record in engine_records)
    assert "mint ok" in text
    for secret in (project.app_key, project.app_secret, token, "wrong-secret", "utk_"):
        assert secret not in text
    assert project.app_secret not in repr(project)
    assert project.app_key not in repr(project)
