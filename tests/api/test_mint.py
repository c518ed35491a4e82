"""Session mint against the reference engine over real loopback sockets (HTTP and HTTPS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from utd_trio import ErrorCode, PlanLimits, Session, UTDApi, UTDStreamError
from utd_trio.testing import OMIT, Engine, ProjectConfig, open_engine

from .conftest import make_api

pytestmark = pytest.mark.both_loops

IO_DEADLINE = 10


async def test_mint_over_http_with_app_key(utd_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(utd_engine) as api:
            session = await api.mint_session(
                "alice",
                name="Alice",
                os="linux",
                os_version="6.1",
                device_model="server",
                app_version="1.0.0",
            )
    assert isinstance(session, Session)
    assert session.user_token
    assert session.ws_url == utd_engine.ws_url
    assert session.expires_in == 3600
    assert session.signaling_enabled is True
    assert session.chat_enabled is True
    assert session.plan_limits == PlanLimits(30, 256, 1000, 50)
    assert api.session is session
    assert utd_engine.mint_count("alice") == 1


@pytest.mark.parametrize("secret", [False, True], ids=["x-app-key", "x-app-secret"])
async def test_mint_over_https_with_trustme_ca(secret: bool) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with open_engine(tls=True) as engine:
            assert engine.base_url.startswith("https://127.0.0.1:")
            async with make_api(engine, secret=secret) as api:
                session = await api.mint_session("alice")
    assert session.ws_url.startswith("wss://")
    assert session.signaling_enabled is True


async def test_https_verification_is_always_on() -> None:
    """Without trusting the engine's throwaway CA the TLS handshake fails: NETWORK."""
    with anyio.fail_after(IO_DEADLINE):
        async with open_engine(tls=True) as engine:
            api = UTDApi(app_id="app_test", app_key="key_test", base_url=engine.base_url)
            async with api:
                with pytest.raises(UTDStreamError) as info:
                    await api.mint_session("alice")
    assert info.value.code is ErrorCode.NETWORK
    assert engine.mint_count() == 0


async def test_caller_http_client_is_used_and_left_open() -> None:
    import httpx

    with anyio.fail_after(IO_DEADLINE):
        async with (
            open_engine(tls=True) as engine,
            httpx.AsyncClient(verify=engine.client_ssl_context()) as client,
        ):
            # ssl_context is for the WebSocket too, so passing both is fine
            ctx = engine.client_ssl_context()
            async with make_api(engine, http_client=client, ssl_context=ctx) as api:
                await api.mint_session("alice")
            assert not client.is_closed  # the api did not close the caller's client
            reply = await client.post(engine.base_url + "/api/v1/auth/session")
            assert reply.status_code == 401


async def test_owned_client_is_closed_by_aexit(utd_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(utd_engine) as api:
            await api.mint_session("alice")
        await api.aclose()  # idempotent
        with pytest.raises(UTDStreamError) as info:
            await api.mint_session("alice")
    assert info.value.code is ErrorCode.CLOSED
    assert "closed=True" in repr(api)


def _project(**kwargs: Any) -> ProjectConfig:
    return ProjectConfig(app_id="app_x", app_key="key_x", app_secret="secret_x", **kwargs)


async def _mint_with(project: ProjectConfig, **api_kwargs: Any) -> Session:
    with anyio.fail_after(IO_DEADLINE):
        async with open_engine([project]) as engine:
            api = UTDApi(
                app_id=project.app_id,
                app_key=project.app_key,
                base_url=engine.base_url,
                **api_kwargs,
            )
            async with api:
                return await api.mint_session("alice")


async def test_absent_flags_and_limits_are_unknown_not_false() -> None:
    session = await _mint_with(_project(signaling_enabled=None, chat_enabled=None, limits=None))
    assert session.signaling_enabled is None
    assert session.chat_enabled is None
    assert session.plan_limits is None


async def test_false_flags_are_false() -> None:
    session = await _mint_with(_project(signaling_enabled=False, chat_enabled=False))
    assert session.signaling_enabled is False
    assert session.chat_enabled is False


async def test_null_flags_and_partial_limits() -> None:
    session = await _mint_with(
        _project(
            wire_overrides={"signaling_enabled": None, "messaging_enabled": None},
            limits={"history_days": None, "max_group_members": 10},
        )
    )
    assert session.signaling_enabled is None
    assert session.chat_enabled is None
    assert session.plan_limits == PlanLimits(None, 10, None, None)


@pytest.mark.parametrize(
    ("overrides", "signaling", "chat", "limits"),
    [
        pytest.param(
            {"signaling_enabled": "true", "messaging_enabled": 1},
            True,
            True,
            PlanLimits(30, 256, 1000, 50),
            id="string-true-and-one",
        ),
        pytest.param(
            {"signaling_enabled": "false", "messaging_enabled": 0},
            False,
            False,
            PlanLimits(30, 256, 1000, 50),
            id="string-false-and-zero",
        ),
        pytest.param(
            {
                "limits": {
                    "history_days": "30",
                    "max_group_members": 30.0,
                    "max_friends": None,
                    "max_chatrooms": "junk",
                }
            },
            True,
            True,
            PlanLimits(30, 30, None, None),
            id="limit-strings-floats-null-junk",
        ),
        pytest.param(
            {
                "signaling_enabled": OMIT,
                "messaging_enabled": OMIT,
                "limits": OMIT,
                "signalingEnabled": "true",
                "messagingEnabled": False,
            },
            True,
            False,
            None,
            id="camelCase-flags-no-limits",
        ),
        pytest.param(
            {"limits": {"historyDays": 7, "maxGroupMembers": "8", "maxFriends": 9.0}},
            True,
            True,
            PlanLimits(7, 8, 9, None),
            id="camelCase-limits",
        ),
        pytest.param(
            {"signaling_enabled": "maybe", "messaging_enabled": [], "limits": "lots"},
            None,
            None,
            None,
            id="unparseable-is-unknown",
        ),
    ],
)
async def test_varying_wire_types(
    overrides: dict[str, object],
    signaling: bool | None,
    chat: bool | None,
    limits: PlanLimits | None,
) -> None:
    session = await _mint_with(_project(wire_overrides=overrides))
    assert session.signaling_enabled is signaling
    assert session.chat_enabled is chat
    assert session.plan_limits == limits


async def test_expires_in_as_string_and_camel_case_session_fields() -> None:
    session = await _mint_with(
        _project(
            wire_overrides={
                "expires_in": OMIT,
                "expiresIn": "90",
                "ws_url": OMIT,
                "wsUrl": "ws://127.0.0.1:1/ws",
            }
        )
    )
    assert session.expires_in == 90
    assert session.ws_url == "ws://127.0.0.1:1/ws"


@pytest.mark.parametrize("missing", ["user_token", "ws_url"])
async def test_reply_without_required_field_is_protocol(missing: str) -> None:
    with pytest.raises(UTDStreamError) as info:
        await _mint_with(_project(wire_overrides={missing: OMIT}))
    assert info.value.code is ErrorCode.PROTOCOL
    assert missing in info.value.message


@pytest.mark.parametrize(
    ("app_id", "creds"),
    [
        pytest.param("app_test", {"app_key": "wrong_key"}, id="wrong-key"),
        pytest.param("app_test", {"app_secret": "wrong_secret"}, id="wrong-secret"),
        pytest.param("app_nobody", {"app_key": "key_test"}, id="unknown-app-id"),
        pytest.param("app_test", {"app_secret": "key_test"}, id="key-sent-as-secret"),
    ],
)
async def test_invalid_credentials_are_unauthorized(
    utd_engine: Engine, app_id: str, creds: dict[str, str]
) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with UTDApi(app_id=app_id, base_url=utd_engine.base_url, **creds) as api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    err = info.value
    assert err.code is ErrorCode.UNAUTHORIZED
    assert err.is_unauthorized
    assert err.status == 401
    assert err.message == "Invalid credentials"
    assert api.session is None


async def test_banned_identity(utd_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        await utd_engine.ban("mallory")
        async with make_api(utd_engine) as api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("mallory")
            await api.mint_session("alice")  # others still mint
    err = info.value
    assert err.code is ErrorCode.BANNED
    assert err.is_banned
    assert err.is_forbidden
    assert err.is_terminal
    assert err.status == 403
    assert err.wire_code == "banned"


async def test_appkey_mint_disabled_but_secret_mint_works() -> None:
    project = _project(allow_appkey_identity_mint=False)
    with anyio.fail_after(IO_DEADLINE):
        async with open_engine([project]) as engine:
            base = engine.base_url
            async with UTDApi(app_id="app_x", app_key="key_x", base_url=base) as api:
                with pytest.raises(UTDStreamError) as info:
                    await api.mint_session("alice")
            async with UTDApi(app_id="app_x", app_secret="secret_x", base_url=base) as api:
                session = await api.mint_session("alice")
    err = info.value
    assert err.code is ErrorCode.IDENTITY_MINT_DISABLED
    assert err.is_forbidden
    assert err.is_terminal
    assert err.status == 403
    assert session.user_token


async def test_bad_identity_is_refused_locally(closed_port: int) -> None:
    """Local validation: ValueError naming the field, and no request is sent."""
    api = UTDApi(app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{closed_port}")
    async with api:
        for identity in ["", "a b", "x" * 129, "al/ice", "ä"]:
            with pytest.raises(ValueError, match="identity"):
                await api.mint_session(identity)
        with pytest.raises(ValueError, match="os_version"):
            await api.mint_session("alice", os_version="x" * 21)


async def test_server_422_is_invalid(utd_engine: Engine) -> None:
    utd_engine.fail_next_mints(1, 422, message="identity is required")
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(utd_engine) as api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
            assert (await api.mint_session("alice")).user_token  # only the next one failed
    assert info.value.code is ErrorCode.INVALID
    assert info.value.status == 422
    assert info.value.message == "identity is required"


async def test_injected_429_keeps_retry_after(utd_engine: Engine) -> None:
    utd_engine.fail_next_mints(1, 429, retry_after=7)
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(utd_engine) as api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    err = info.value
    assert err.code is ErrorCode.RATE_LIMITED
    assert err.is_rate_limited
    assert err.retry_after == 7.0
    assert err.status == 429


async def test_real_rate_limit_per_identity() -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with open_engine(mint_rate_limit=2) as engine, make_api(engine) as api:
            await api.mint_session("alice")
            await api.mint_session("alice")
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
            await api.mint_session("bob")  # the limit is per identity
    err = info.value
    assert err.code is ErrorCode.RATE_LIMITED
    assert err.retry_after is not None
    assert 0 < err.retry_after <= 60


async def test_server_error_is_server(utd_engine: Engine) -> None:
    utd_engine.fail_next_mints(1, 503)
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(utd_engine) as api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    assert info.value.code is ErrorCode.SERVER
    assert info.value.status == 503


async def test_engine_not_running_is_network(closed_port: int) -> None:
    with anyio.fail_after(IO_DEADLINE):
        api = UTDApi(app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{closed_port}")
        async with api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    assert info.value.code is ErrorCode.NETWORK
    assert info.value.__cause__ is not None  # the transport error is chained, not raised


async def test_slow_engine_is_timeout(
    raw_server: Callable[[bytes | None], Awaitable[int]],
) -> None:
    port = await raw_server(None)  # accepts, never answers
    with anyio.fail_after(IO_DEADLINE):
        api = UTDApi(
            app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{port}", timeout=0.2
        )
        async with api:
            start = anyio.current_time()
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
            elapsed = anyio.current_time() - start
    assert info.value.code is ErrorCode.TIMEOUT
    assert 0.15 <= elapsed < 5


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"<html>ok</html>", id="html"),
        pytest.param(b"[1, 2]", id="json-list"),
        pytest.param(b"", id="empty"),
        pytest.param(b'"user_token"', id="json-string"),
    ],
)
async def test_2xx_that_is_not_a_session_object_is_protocol(
    raw_server: Callable[[bytes | None], Awaitable[int]], reply: bytes
) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(reply)}\r\nConnection: close\r\n\r\n"
    port = await raw_server(head.encode() + reply)
    with anyio.fail_after(IO_DEADLINE):
        api = UTDApi(app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{port}")
        async with api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    assert info.value.code is ErrorCode.PROTOCOL


async def test_garbage_instead_of_http_is_network(
    raw_server: Callable[[bytes | None], Awaitable[int]],
) -> None:
    port = await raw_server(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    with anyio.fail_after(IO_DEADLINE):
        api = UTDApi(app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{port}")
        async with api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    assert info.value.code is ErrorCode.NETWORK


async def test_non_json_error_body_is_still_classified(
    raw_server: Callable[[bytes | None], Awaitable[int]],
) -> None:
    body = b"<html>Bad Gateway</html>"
    head = f"HTTP/1.1 502 Bad Gateway\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    port = await raw_server(head + body)
    with anyio.fail_after(IO_DEADLINE):
        api = UTDApi(app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{port}")
        async with api:
            with pytest.raises(UTDStreamError) as info:
                await api.mint_session("alice")
    assert info.value.code is ErrorCode.SERVER
    assert info.value.status == 502


async def test_mint_without_bind_leaves_session_alone(utd_engine: Engine) -> None:
    with anyio.fail_after(IO_DEADLINE):
        async with make_api(utd_engine, secret=True) as api:
            first = await api.mint_session("alice")
            other = await api.mint_session("bob", bind=False)
    assert api.session is first
    assert other.user_token != first.user_token
