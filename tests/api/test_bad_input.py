"""Bad input, client side (issue 12.5): every argument is checked up front, naming it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from utd_trio import (
    ErrorCode,
    Session,
    UTDApi,
    UTDStreamError,
    open_signal_client,
    open_signaling,
)
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]
IO = 10
LONE = "\ud800"
# Nothing listens there: an argument that slipped through would fail on the network instead.
BASE: dict[str, Any] = {
    "app_id": "app",
    "user_id": "alice",
    "app_key": "key",
    "base_url": "http://127.0.0.1:9",
}


BAD_OPTIONS = [
    ("connect_timeout", -1),
    ("connect_timeout", math.nan),
    ("connect_timeout", math.inf),
    ("connect_timeout", 0),
    ("connect_timeout", "5"),
    ("request_timeout", 0),
    ("heartbeat_timeout", math.nan),
    ("close_timeout", -0.5),
    ("backoff_base", 0),
    ("backoff_cap", math.inf),
    ("backoff_cap", 0.1),  # below backoff_base
    ("event_buffer", 0),
    ("event_buffer", -5),
    ("event_buffer", 1.5),
    ("event_buffer", True),
    ("allow_insecure", "no"),
    ("allow_insecure", 1),
    ("http_client", "x"),
    ("ssl_context", "x"),
    ("rng", "x"),
    ("name", LONE),
    ("name", "n" * 101),
    ("user_id", LONE),
    ("app_id", LONE),
    ("app_key", LONE),
]


@pytest.mark.parametrize(("field", "value"), BAD_OPTIONS)
async def test_open_signaling_refuses_and_names_the_parameter(field: str, value: Any) -> None:
    with anyio.fail_after(IO), pytest.raises((ValueError, TypeError), match=field):
        async with open_signaling(**{**BASE, field: value}):
            pytest.fail("opened with a bad argument")


@pytest.mark.parametrize(("field", "value"), [("allow_insecure", "no"), ("http_client", "x")])
async def test_wrong_types_are_type_errors(field: str, value: Any) -> None:
    with pytest.raises(TypeError, match=field):
        async with open_signaling(**{**BASE, field: value}):
            pass


async def test_session_provider_that_is_not_callable() -> None:
    kwargs: dict[str, Any] = {**BASE, "app_key": None, "session_provider": "x"}
    with pytest.raises(TypeError, match="session_provider"):
        async with open_signaling(**kwargs):
            pass


async def test_a_huge_argument_is_never_quoted_whole() -> None:
    huge: Any = "x" * 10_000_000
    with pytest.raises(ValueError, match="user_id") as info:
        async with open_signaling(**{**BASE, "user_id": huge}):
            pass
    assert len(str(info.value)) < 300
    assert "…" in str(info.value)
    with pytest.raises(ValueError, match="base_url") as url_info:
        UTDApi(app_id="app", base_url="http://" + huge + ".example")
    assert len(str(url_info.value)) < 300


@pytest.mark.parametrize(
    ("reply", "what"),
    [
        pytest.param(lambda: 42, "cannot be awaited", id="sync-callable"),
        pytest.param(lambda: _provider_of(42), "got int", id="returns-int"),
        pytest.param(lambda: _provider_of(["a"]), "got list", id="returns-list"),
    ],
)
async def test_session_provider_returning_the_wrong_thing(
    utd_engine: Engine, reply: Callable[[], Any], what: str
) -> None:
    with anyio.fail_after(IO), pytest.raises(UTDStreamError) as info:
        async with open_signaling(
            app_id=utd_engine.default_project.app_id,
            user_id="alice",
            session_provider=reply,
            base_url=utd_engine.base_url,
            connect_timeout=60,
        ):
            pytest.fail("connected without a session")
    assert info.value.code is ErrorCode.PROTOCOL
    assert "session_provider" in info.value.message
    assert what in info.value.message


async def _provider_of(value: object) -> object:
    return value


async def test_verbs_refuse_bad_arguments_naming_them(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(IO):
        async with open_signaling(**creds(utd_engine)) as sig:
            checks: list[tuple[str, Any]] = [
                ("video", sig.invite("bob", video="yes")),  # type: ignore[arg-type]
                ("text", sig.send_message(to="bob", text=f"hi {LONE}")),
                ("metadata", sig.send_message(to="bob", text="hi", metadata={"k": LONE})),
                ("metadata", sig.invite("bob", metadata={LONE: 1})),
                ("name", sig.create_group(LONE, ["bob"])),
                ("name", sig.rename_group("g1", f"x{LONE}")),
                ("group_id", sig.send_message(group_id=LONE, text="hi")),
                ("call_id", sig.accept_call(LONE)),
                ("conversation_id", sig.history(LONE)),
                ("filename", sig.presign_upload(LONE, "image/png", 3)),
                ("token", sig.register_push_token(LONE, platform="web", provider="fcm")),
                ("typing", sig.set_typing(to="bob", typing="yes")),  # type: ignore[arg-type]
                ("timeout", sig.wait_connected(timeout=math.nan)),
                ("to", sig.invite("b" * 1_000_000)),
            ]
            for field, call in checks:
                with pytest.raises(ValueError, match=field) as info:
                    await call
                assert len(str(info.value)) < 300
            with pytest.raises(ValueError, match="buffer"):
                sig.events(buffer=0)
            with pytest.raises(ValueError, match="overflow"):
                sig.events(overflow="never")  # type: ignore[arg-type]
    assert utd_engine.socket_count("alice") == 0


async def test_rest_verbs_after_aclose_are_closed(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(IO):
        async with open_signaling(**creds(utd_engine)) as sig:
            await sig.list_groups()
            await sig.aclose()
            for call in (sig.list_groups(), sig.conversations(), sig.history("c1")):
                with pytest.raises(UTDStreamError) as info:
                    await call
                assert info.value.code is ErrorCode.CLOSED
            with pytest.raises(UTDStreamError) as socket_info:
                await sig.invite("bob")
            assert socket_info.value.code is ErrorCode.CLOSED


async def test_rest_verbs_after_the_block_are_closed_even_with_a_shared_client(
    utd_engine: Engine, creds: Creds
) -> None:
    async with httpx.AsyncClient() as shared:
        with anyio.fail_after(IO):
            async with open_signaling(**creds(utd_engine, http_client=shared)) as sig:
                pass
        with pytest.raises(UTDStreamError) as info:
            await sig.list_groups()
        assert info.value.code is ErrorCode.CLOSED
        assert not shared.is_closed  # the caller's client is left open


async def test_names_under_localhost_are_not_loopback_for_plain_text() -> None:
    with pytest.raises(ValueError, match="allow_insecure"):
        UTDApi(app_id="app", base_url="http://api.localhost:8000")
    async with UTDApi(
        app_id="app", base_url="http://api.localhost:8000", allow_insecure=True
    ) as api:
        assert api.base_url == "http://api.localhost:8000"
    async with UTDApi(app_id="app", base_url="http://localhost:8000") as api:
        assert api.base_url == "http://localhost:8000"


@pytest.mark.parametrize(
    ("field", "value"),
    [("connect_timeout", 0), ("heartbeat_timeout", math.nan), ("allow_insecure", "no")],
)
async def test_open_signal_client_refuses_and_names_the_parameter(field: str, value: Any) -> None:
    session = Session(user_token="tok", ws_url="ws://127.0.0.1:9/ws")
    kwargs: dict[str, Any] = {field: value}
    with anyio.fail_after(IO), pytest.raises(ValueError, match=field):
        async with open_signal_client(session, **kwargs):
            pytest.fail("opened with a bad argument")
