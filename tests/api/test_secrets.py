"""No secret (app key, server secret, user token) in reprs, error texts or logs."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable

import anyio
import pytest

from utd_trio import Session, UTDApi, UTDStreamError
from utd_trio.testing import ProjectConfig, open_engine

from .conftest import PUSH_TOKEN_PATH

pytestmark = pytest.mark.both_loops

KEY = "pk_SECRET_KEY_0123456789"
SECRET = "sk_SECRET_SERVER_9876543210"
PROJECT = ProjectConfig(app_id="app_s", app_key=KEY, app_secret=SECRET)
IO_DEADLINE = 10


def _texts(err: BaseException) -> list[str]:
    texts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    if err.__cause__ is not None:
        texts += [str(err.__cause__), repr(err.__cause__)]
    return texts


def test_repr_hides_credentials() -> None:
    with_key = UTDApi(app_id="app_s", app_key=KEY)
    with_secret = UTDApi(app_id="app_s", app_secret=SECRET)
    for api in (with_key, with_secret):
        for text in (repr(api), str(api)):
            assert KEY not in text
            assert SECRET not in text
            assert "app_s" in text
            assert "https://engine.udt-stream.com" in text
            assert "'***'" in text


async def test_secrets_absent_everywhere(
    caplog: pytest.LogCaptureFixture,
    raw_server: Callable[[bytes | None], Awaitable[int]],
    closed_port: int,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, the engine
    tokens: set[str] = set()
    texts: list[str] = []
    with anyio.fail_after(IO_DEADLINE):
        async with open_engine([PROJECT]) as engine:
            if PUSH_TOKEN_PATH not in {spec.path for spec in engine.registry.routes}:

                async def ok(ctx: object) -> dict[str, bool]:
                    return {"ok": True}

                engine.registry.route(PUSH_TOKEN_PATH, ok, methods=["POST", "DELETE"])
            base = engine.base_url
            async with UTDApi(app_id="app_s", app_key=KEY, base_url=base) as api:
                session = await api.mint_session("alice")
                tokens.add(session.user_token)
                texts += [repr(api), str(api), repr(session), str(session)]
                engine.revoke_tokens("alice")
                await api.register_push_token("device-token", platform="web", provider="fcm")
                assert api.session is not None
                tokens.add(api.session.user_token)
                texts += [repr(api.session), repr(api)]
                await engine.ban("alice")
                for call in (
                    api.mint_session("alice"),
                    api.register_push_token("device-token", platform="web", provider="fcm"),
                ):
                    with pytest.raises(UTDStreamError) as info:
                        await call
                    texts += _texts(info.value)
            async with UTDApi(app_id="app_s", app_secret=SECRET, base_url=base) as api:
                tokens.add((await api.mint_session("bob")).user_token)
            async with UTDApi(app_id="app_s", app_key=KEY + "x", base_url=base) as api:
                with pytest.raises(UTDStreamError) as info:
                    await api.mint_session("bob")
                texts += _texts(info.value)
        for base in (
            f"http://127.0.0.1:{closed_port}",
            f"http://127.0.0.1:{await raw_server(None)}",
        ):
            async with UTDApi(app_id="app_s", app_secret=SECRET, base_url=base, timeout=0.2) as api:
                api.bind_session(Session(user_token="tok_SECRET_BOUND", ws_url="ws://127.0.0.1:1"))
                tokens.add("tok_SECRET_BOUND")
                for call in (
                    api.mint_session("bob"),
                    api.register_push_token("device-token", platform="web", provider="fcm"),
                ):
                    with pytest.raises(UTDStreamError) as info:
                        await call
                    texts += _texts(info.value)
                texts.append(repr(api))
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.args) for record in caplog.records]
    assert len(tokens) == 4
    assert any("POST /api/v1/auth/session -> 200" in text for text in texts)  # logs were on
    for secret in (KEY, SECRET, *tokens):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret[:6]}… leaked in: {leaks[:3]}"
