"""Bearer calls against the reference engine: 401 → one refresh + one retry, shared by all."""

from __future__ import annotations

import logging

import anyio
import pytest

from utd_trio import ErrorCode, Session, UTDStreamError
from utd_trio.testing import Engine

from .conftest import make_api

pytestmark = pytest.mark.both_loops

IO_DEADLINE = 10


async def test_bearer_call_with_minted_session(bearer_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine) as api:
            await api.mint_session("alice")
            await api.register_push_token("tok-1", platform="android", provider="fcm")
            await api.unregister_push_token("tok-1")
    assert bearer_engine.mint_count("alice") == 1


async def test_bearer_call_without_session_is_a_usage_error(bearer_engine: Engine) -> None:
    async with make_api(bearer_engine) as api:
        with pytest.raises(RuntimeError, match="mint_session"):
            await api.register_push_token("tok", platform="web", provider="fcm")


async def test_revoked_token_remints_once_and_retries(bearer_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine) as api:
            first = await api.mint_session("alice", name="Alice")
            assert bearer_engine.revoke_tokens("alice") == 1
            await api.register_push_token("tok", platform="ios", provider="apns")
            second = api.session
            assert second is not None
            assert second is not first
            assert second.user_token != first.user_token
            # the fresh session keeps working, and keeps re-minting when revoked again
            await api.register_push_token("tok", platform="ios", provider="voip")
            bearer_engine.revoke_tokens("alice")
            await api.unregister_push_token("tok")
    assert bearer_engine.mint_count("alice") == 3


async def test_refresh_callback_is_used_once(bearer_engine: Engine) -> None:
    calls: list[Session] = []
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend, make_api(bearer_engine) as api:

            async def refresh() -> Session:
                session = await backend.mint_session("alice", bind=False)
                calls.append(session)
                return session

            api.bind_session(await backend.mint_session("alice", bind=False), refresh=refresh)
            bearer_engine.revoke_tokens("alice")
            await api.register_push_token("tok", platform="web", provider="fcm")
    assert len(calls) == 1
    assert api.session is calls[0]


async def test_foreign_session_without_refresh_is_not_refreshed(bearer_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend, make_api(bearer_engine) as api:
            api.bind_session(await backend.mint_session("alice", bind=False))
            bearer_engine.revoke_tokens("alice")
            with pytest.raises(UTDStreamError) as info:
                await api.register_push_token("tok", platform="web", provider="fcm")
    assert info.value.code is ErrorCode.UNAUTHORIZED
    assert info.value.status == 401
    assert bearer_engine.mint_count("alice") == 1


async def test_api_without_credentials_serves_a_bound_session(bearer_engine: Engine) -> None:
    from utd_trio import UTDApi

    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend:
            session = await backend.mint_session("alice", bind=False)
        async with UTDApi(app_id="app_test", base_url=bearer_engine.base_url) as api:
            api.bind_session(session)
            await api.register_push_token("tok", platform="web", provider="fcm")
            with pytest.raises(ValueError, match="app_key or app_secret"):
                await api.mint_session("alice")


async def test_second_401_after_refresh_is_unauthorized(bearer_engine: Engine) -> None:
    calls = 0
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend, make_api(bearer_engine) as api:
            stale = await backend.mint_session("alice", bind=False)
            bearer_engine.revoke_tokens("alice")

            async def refresh() -> Session:
                nonlocal calls
                calls += 1
                return stale  # also revoked: the retry gets 401 again

            api.bind_session(await backend.mint_session("alice", bind=False), refresh=refresh)
            bearer_engine.revoke_tokens("alice")
            with pytest.raises(UTDStreamError) as info:
                await api.register_push_token("tok", platform="web", provider="fcm")
    assert info.value.code is ErrorCode.UNAUTHORIZED
    assert calls == 1


async def test_concurrent_401s_share_one_remint(
    bearer_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="utd_trio.api")
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine) as api:
            await api.mint_session("alice")
            bearer_engine.revoke_tokens("alice")
            async with anyio.create_task_group() as tg:
                for i in range(12):
                    tg.start_soon(
                        lambda i=i: api.register_push_token(
                            f"tok-{i}", platform="android", provider="fcm"
                        )
                    )
    assert bearer_engine.mint_count("alice") == 2
    messages = [r.getMessage() for r in caplog.records if r.name == "utd_trio.api"]
    assert sum(m.endswith("-> 401") for m in messages) == 12  # every request was refused
    assert sum("refreshing" in m for m in messages) == 1


async def test_concurrent_401s_share_one_refresh_callback(bearer_engine: Engine) -> None:
    calls = 0
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend, make_api(bearer_engine) as api:

            async def refresh() -> Session:
                nonlocal calls
                calls += 1
                return await backend.mint_session("alice", bind=False)

            api.bind_session(await backend.mint_session("alice", bind=False), refresh=refresh)
            bearer_engine.revoke_tokens("alice")
            async with anyio.create_task_group() as tg:
                for i in range(12):
                    tg.start_soon(
                        lambda i=i: api.register_push_token(
                            f"tok-{i}", platform="web", provider="fcm"
                        )
                    )
    assert calls == 1


async def test_failed_refresh_is_not_repeated_by_waiting_requests(
    bearer_engine: Engine,
) -> None:
    calls = 0
    errors: list[UTDStreamError] = []
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend, make_api(bearer_engine) as api:

            async def refresh() -> Session:
                nonlocal calls
                calls += 1
                raise UTDStreamError(ErrorCode.NETWORK, "backend unreachable")

            api.bind_session(await backend.mint_session("alice", bind=False), refresh=refresh)
            bearer_engine.revoke_tokens("alice")

            async def call(i: int) -> None:
                try:
                    await api.register_push_token(f"tok-{i}", platform="web", provider="fcm")
                except UTDStreamError as err:
                    errors.append(err)

            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(call, i)
            assert calls == 1
            assert len(errors) == 8
            codes = sorted(err.code.value for err in errors)
            assert codes == ["network"] + ["unauthorized"] * 7
            # a later request tries again (the failure is not remembered forever)
            with pytest.raises(UTDStreamError):
                await api.register_push_token("tok-late", platform="web", provider="fcm")
    assert calls == 2


async def test_banned_during_remint_surfaces_banned(bearer_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine) as api:
            await api.mint_session("mallory")
            bearer_engine.revoke_tokens("mallory")
            await bearer_engine.ban("mallory")
            with pytest.raises(UTDStreamError) as info:
                await api.register_push_token("tok", platform="web", provider="fcm")
    assert info.value.code is ErrorCode.BANNED


async def test_banned_user_with_valid_token_is_forbidden(bearer_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine) as api:
            await api.mint_session("mallory")
            await bearer_engine.ban("mallory")
            with pytest.raises(UTDStreamError) as info:
                await api.register_push_token("tok", platform="web", provider="fcm")
    assert info.value.is_banned
    assert info.value.is_forbidden
    assert bearer_engine.mint_count("mallory") == 1  # a 403 never triggers a refresh


async def test_cancelled_refresh_lets_the_next_waiter_refresh(bearer_engine: Engine) -> None:
    calls = 0
    blocked: list[int] = []  # ids of anyio tasks
    started = anyio.Event()
    scopes: dict[int, anyio.CancelScope] = {}
    done: list[str] = []
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine, secret=True) as backend, make_api(bearer_engine) as api:

            async def refresh() -> Session:
                nonlocal calls
                calls += 1
                if calls == 1:  # the first refresh hangs until its caller gives up
                    blocked.append(anyio.get_current_task().id)
                    started.set()
                    await anyio.sleep_forever()
                return await backend.mint_session("alice", bind=False)

            api.bind_session(await backend.mint_session("alice", bind=False), refresh=refresh)
            bearer_engine.revoke_tokens("alice")

            async def call(name: str) -> None:
                with anyio.CancelScope() as scope:
                    scopes[anyio.get_current_task().id] = scope
                    await api.register_push_token(name, platform="web", provider="fcm")
                    done.append(name)

            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "a")
                tg.start_soon(call, "b")
                await started.wait()
                scopes[blocked[0]].cancel()
    assert calls == 2
    assert len(done) == 1  # the other request refreshed itself and went through


async def test_refresh_policy_survives_a_callable_that_mints_and_binds(
    bearer_engine: Engine,
) -> None:
    """A refresh callable may itself call ``mint_session`` (which binds by default)."""
    calls = 0
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(bearer_engine) as api:

            async def refresh() -> Session:
                nonlocal calls
                calls += 1
                return await api.mint_session("alice")

            api.bind_session(await api.mint_session("alice"), refresh=refresh)
            for _ in range(2):
                bearer_engine.revoke_tokens("alice")
                await api.register_push_token("tok", platform="web", provider="fcm")
    assert calls == 2  # the callable stayed the refresh policy after the first refresh
    assert bearer_engine.mint_count("alice") == 3
