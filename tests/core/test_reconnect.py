"""The supervisor: reconnect with fresh mints and flags, close codes, backoff, terminal errors."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import anyio
import pytest
import trio.testing

from utd_trio import (
    CapabilitiesChanged,
    Connected,
    ConnectionState,
    Disconnected,
    ErrorCode,
    Event,
    EventStream,
    UTDStreamError,
    open_signaling,
)
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]


async def next_of(stream: EventStream[Event], kind: type[Event]) -> Any:
    """The next event of ``kind`` on ``stream`` (others are skipped)."""
    async for ev in stream:
        if isinstance(ev, kind):
            return ev
    raise AssertionError(f"stream ended before a {kind.__name__}")


@pytest.mark.parametrize("code", [1011, 1001, 4008, None], ids=["1011", "1001", "4008", "abrupt"])
async def test_drop_reconnects_with_fresh_mint_and_flags(
    utd_engine: Engine, creds: Creds, code: int | None
) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events() as stream:
            assert utd_engine.mint_count("alice") == 1
            await utd_engine.set_plan(signaling_enabled=False)  # live push, then a drop
            assert (await next_of(stream, CapabilitiesChanged)).new.signaling_enabled is False
            await utd_engine.set_plan(signaling_enabled=True, chat_enabled=False, limits=None)
            await next_of(stream, CapabilitiesChanged)
            await utd_engine.drop_sockets("alice", code=code)
            gone = await next_of(stream, Disconnected)
            assert gone.code == (1006 if code is None else code)
            assert gone.will_retry
            back = await next_of(stream, Connected)
            assert back.generation == 2
            assert utd_engine.mint_count("alice") == 2
            assert sig.chat_enabled is False
            assert sig.plan_limits is None
            assert sig.reconnects == 1
            assert sig.state is ConnectionState.CONNECTED


async def test_capabilities_changed_across_a_reconnect(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events() as stream:
            # Change the plan without a push (another project's view), then reconnect.
            utd_engine.state.projects["app_test"] = utd_engine.project().__class__(
                **{**utd_engine.project().__dict__, "chat_enabled": None}
            )
            await utd_engine.drop_sockets("alice")
            await next_of(stream, Connected)
            changed = await next_of(stream, CapabilitiesChanged)
            assert changed.old.chat_enabled is True
            assert changed.new.chat_enabled is None
            assert sig.chat_enabled is None


async def test_4001_remints_at_once_then_backs_off(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(60):
        async with open_signaling(**creds(utd_engine, backoff_base=0.5)) as sig:
            async with sig.events(Disconnected, Connected) as stream:
                await utd_engine.drop_sockets("alice", code=4001)
                first = await next_of(stream, Disconnected)
                assert first.code == 4001
                assert first.retry_in is not None
                assert first.retry_in <= 0.5
                await next_of(stream, Connected)
                assert utd_engine.mint_count("alice") == 2
                await utd_engine.drop_sockets("alice", code=4001)
                second = await next_of(stream, Disconnected)
                # Second 4001 in a row: backoff instead of an instant retry. Its ceiling is
                # still the first step of the schedule, but the streak is remembered.
                assert second.code == 4001
                await next_of(stream, Connected)
                assert utd_engine.mint_count("alice") == 3


async def test_upgrade_refused_401_remints(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events(Connected) as stream:
            utd_engine.revoke_tokens("alice")
            await utd_engine.drop_sockets("alice", code=4001)
            await stream.receive()
            assert utd_engine.mint_count("alice") == 2


async def test_ban_is_terminal_out_of_async_with(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        with pytest.raises(UTDStreamError) as info:
            async with open_signaling(**creds(utd_engine)) as sig:
                stream = sig.events()
                await utd_engine.ban("alice")
                await anyio.sleep_forever()  # cancelled by the terminal error
        assert info.value.is_banned or info.value.is_forbidden
        assert info.value.status == 4003
        assert sig.state is ConnectionState.CLOSED
        seen = [ev async for ev in stream]
        assert isinstance(seen[-1], Disconnected)
        assert not seen[-1].will_retry
        assert utd_engine.mint_count("alice") == 1  # no reconnect attempt


async def test_banned_at_start_raises_banned(utd_engine: Engine, creds: Creds) -> None:
    await utd_engine.ban("alice")
    with anyio.fail_after(10), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine)):
            pytest.fail("must not connect")
    assert info.value.code is ErrorCode.BANNED


async def test_bad_credentials_fail_fast(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine, app_key="wrong")):
            pytest.fail("must not connect")
    assert info.value.is_unauthorized


@pytest.mark.parametrize(
    ("status", "retry_after"), [(503, None), (429, 7.0)], ids=["503", "429-retry-after"]
)
async def test_mint_failures_back_off_honouring_retry_after(
    utd_engine: Engine,
    creds: Creds,
    autojump_clock: trio.testing.MockClock,
    status: int,
    retry_after: float | None,
) -> None:
    with anyio.fail_after(300):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events() as stream:
            utd_engine.fail_next_mints(3, status, retry_after=retry_after)
            await utd_engine.drop_sockets("alice")
            delays: list[float] = []
            while True:
                ev = await stream.receive()
                if isinstance(ev, Connected):
                    break
                assert isinstance(ev, Disconnected)
                assert ev.retry_in is not None
                delays.append(ev.retry_in)
            assert len(delays) == 4  # the drop, then three failed mints
            # attempt 0 is the drop itself (a jittered, near-immediate retry)
            for attempt, delay in enumerate(delays):
                assert 0 <= delay <= max(min(30.0, 0.5 * 2**attempt), retry_after or 0)
            if retry_after is not None:
                assert all(delay >= retry_after for delay in delays[1:])


async def test_first_connect_retries_transient_failures(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    utd_engine.fail_next_mints(2, 503)
    with anyio.fail_after(60):
        async with open_signaling(**creds(utd_engine)) as sig:
            assert sig.generation == 1
            assert utd_engine.mint_count("alice") == 1


async def test_first_connect_gives_up_after_connect_timeout(
    creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    kwargs = {
        "app_id": "a",
        "app_key": "k",
        "user_id": "alice",
        "base_url": f"http://127.0.0.1:{port}",
        "connect_timeout": 5.0,
    }
    with anyio.fail_after(60), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**kwargs):
            pytest.fail("must not connect")
    assert info.value.code is ErrorCode.NETWORK
    assert anyio.current_time() <= 5.0 + 1.0


async def test_session_provider_called_once_per_generation(
    utd_engine: Engine, creds: Creds
) -> None:
    calls = 0
    project = utd_engine.default_project

    async def provider() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        # A customer backend minting with the server secret.
        from utd_trio import UTDApi

        async with UTDApi(
            app_id=project.app_id, app_secret=project.app_secret, base_url=utd_engine.base_url
        ) as backend:
            session = await backend.mint_session("alice")
        return {
            "user_token": session.user_token,
            "ws_url": session.ws_url,
            "signaling_enabled": "true",
            "messaging_enabled": 0,
        }

    kwargs = creds(utd_engine)
    del kwargs["app_key"]
    with anyio.fail_after(10):
        async with open_signaling(**kwargs, session_provider=provider) as sig:
            assert calls == 1
            assert sig.signaling_enabled is True
            assert sig.chat_enabled is False
            async with sig.events(Connected) as stream:
                for generation in (2, 3, 4):
                    await utd_engine.drop_sockets("alice")
                    assert (await stream.receive()).generation == generation
                    assert calls == generation


async def _echo(state: Any, session: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"echo": data, "socket": session.socket_id}


async def test_requests_wait_for_the_next_connection(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    utd_engine.registry.ws_handler("test.echo", _echo)
    with anyio.fail_after(120):
        async with open_signaling(**creds(utd_engine)) as sig:
            first = await sig.request("test.echo", {"n": 1})
            utd_engine.fail_next_mints(2, 503)
            await utd_engine.drop_sockets("alice")
            assert sig.state is not ConnectionState.CONNECTED
            second = await sig.request("test.echo", {"n": 2}, timeout=60)
            assert second["echo"] == {"n": 2}
            assert second["socket"] != first["socket"]
            assert sig.generation == 2


async def test_idempotent_request_is_resent_after_a_dead_socket(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    utd_engine.registry.ws_handler("test.echo", _echo)
    with anyio.fail_after(120):
        async with open_signaling(**creds(utd_engine)) as sig:
            utd_engine.stall_sockets("alice")  # the request goes out, no reply ever comes
            reply = await sig.request("test.echo", {"n": 3}, timeout=90, idempotent=True)
            assert reply["echo"] == {"n": 3}
            assert sig.generation == 2
            with pytest.raises(UTDStreamError) as info:
                utd_engine.stall_sockets("alice")
                await sig.request("test.echo", {"n": 4}, timeout=90)
            assert info.value.code is ErrorCode.NETWORK  # not idempotent: not resent
