"""open_signaling(): first connection, honest state, events, bounded close."""

from __future__ import annotations

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
    PlanLimits,
    UTDStreamError,
    open_signaling,
)
from utd_trio.testing import Engine, ProjectConfig, open_engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]


async def test_returns_connected_with_flags_loaded(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig:
            assert sig.state is ConnectionState.CONNECTED
            assert sig.generation == 1
            assert sig.signaling_enabled is True
            assert sig.chat_enabled is True
            assert sig.plan_limits == PlanLimits(30, 256, 1000, 50)
            assert utd_engine.socket_count("alice") == 1
        assert sig.state is ConnectionState.CLOSED
        await utd_engine.wait_socket_count("alice", 0)


async def test_absent_flags_are_unknown_not_false() -> None:
    project = ProjectConfig(
        app_id="app_x",
        app_key="key_x",
        app_secret="secret_x",
        signaling_enabled=None,
        chat_enabled=False,
        limits=None,
    )
    with anyio.fail_after(10):
        async with (
            open_engine([project]) as engine,
            open_signaling(
                app_id="app_x", app_key="key_x", user_id="bob", base_url=engine.base_url
            ) as sig,
        ):
            assert sig.signaling_enabled is None
            assert sig.chat_enabled is False
            assert sig.plan_limits is None


async def test_close_sends_1000_and_ends_event_streams(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig:
            stream = sig.events()
        seen = [ev async for ev in stream]
    assert seen == [Disconnected(1000, "closed by the user", will_retry=False)]
    await utd_engine.wait_socket_count("alice", 0)


async def test_wait_connected_and_aclose(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig:
            await sig.wait_connected(timeout=1)
            await sig.aclose()
            assert sig.state is ConnectionState.CLOSED
            with pytest.raises(UTDStreamError) as info:
                await sig.wait_connected(timeout=1)
            assert info.value.code is ErrorCode.CLOSED
            await sig.aclose()  # idempotent
        await utd_engine.wait_socket_count("alice", 0)


async def test_live_plan_change_publishes_capabilities_changed(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine)) as sig:
            async with sig.events(CapabilitiesChanged) as stream:
                await utd_engine.set_plan(chat_enabled=False, limits={"history_days": 7})
                ev = await stream.receive()
            assert ev.old.chat_enabled is True
            assert ev.new.chat_enabled is False
            assert ev.new.plan_limits is not None
            assert ev.new.plan_limits.history_days == 7
            assert sig.chat_enabled is False


async def test_user_exception_is_not_wrapped_in_a_group(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10), pytest.raises(KeyError):
        async with open_signaling(**creds(utd_engine)):
            raise KeyError("mine")
    await utd_engine.wait_socket_count("alice", 0)


async def test_bad_arguments_fail_before_any_network_call() -> None:
    base = {"app_id": "a", "user_id": "alice", "base_url": "http://127.0.0.1:9"}
    bad = [
        {**base, "user_id": ""},
        {**base, "user_id": "has space"},
        {**base, "app_id": ""},
        {**base, "app_key": "k", "session_provider": lambda: None},
        base,  # neither app_key nor session_provider
        {**base, "app_key": "k", "base_url": "http://example.com"},
        {**base, "app_key": "k", "base_url": "ftp://127.0.0.1"},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError, match=r"."):
            async with open_signaling(**kwargs):
                pass


async def test_state_follows_proof_of_life(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(300):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events() as stream:
            utd_engine.stall_sockets("alice")
            utd_engine.fail_next_mints(3, 503)
            await anyio.sleep(34)  # within interval (25 s) + heartbeat timeout (10 s)
            assert sig.state is ConnectionState.CONNECTED
            ev = await stream.receive()
            # Declared dead by silence alone: the engine never closed the socket.
            assert isinstance(ev, Disconnected)
            assert ev.code is None
            assert ev.will_retry
            assert anyio.current_time() == pytest.approx(35, abs=0.5)
            assert sig.state is ConnectionState.RECONNECTING
            while not isinstance(ev, Connected):
                ev = await stream.receive()
            assert ev.generation == 2
            assert sig.state is ConnectionState.CONNECTED


async def _idle_for_five_intervals(kwargs: dict[str, Any]) -> None:
    # The engine closes a socket silent for 2 x 25 s with 4008: only the pings prevent that.
    with anyio.fail_after(600):
        async with open_signaling(**kwargs) as sig:
            sent = sig.stats.frames_sent
            await anyio.sleep(5 * 25)
            assert sig.state is ConnectionState.CONNECTED
            assert sig.reconnects == 0
            assert sig.generation == 1
            assert 4 <= sig.stats.frames_sent - sent <= 6  # one ping per 25 s interval


async def test_pings_alone_keep_an_idle_session_connected(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    await _idle_for_five_intervals(creds(utd_engine))  # pings written at once (TCP)


async def test_pings_alone_keep_an_idle_tls_session_connected(
    utd_engine_tls: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    # Over TLS on Trio a ping cannot be written without awaiting: a short task sends it.
    context = utd_engine_tls.client_ssl_context()
    await _idle_for_five_intervals(creds(utd_engine_tls, ssl_context=context))


async def test_tls_engine_trusted_through_ssl_context(utd_engine_tls: Engine, creds: Creds) -> None:
    assert utd_engine_tls.base_url.startswith("https://")
    context = utd_engine_tls.client_ssl_context()
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine_tls, ssl_context=context)) as sig:
            assert sig.state is ConnectionState.CONNECTED
            await utd_engine_tls.drop_sockets("alice", code=None)
            await sig.wait_connected(timeout=5)


async def test_tls_engine_without_trust_fails_with_network(
    utd_engine_tls: Engine, creds: Creds
) -> None:
    # No retry makes a certificate verify: the first connect fails at once, saying what to do.
    start = anyio.current_time()
    with anyio.fail_after(10), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine_tls, ssl_context=None, connect_timeout=30)):
            pytest.fail("must not connect to an untrusted certificate")
    assert anyio.current_time() - start < 5
    assert info.value.code is ErrorCode.NETWORK
    assert "certificate does not verify" in info.value.message
    assert "ssl_context" in info.value.message
    assert "UTD_CA_FILE" in info.value.message
