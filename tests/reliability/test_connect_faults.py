"""Faults while a connection is being made: the error that ends the attempt reaches the
supervisor (which retries), and nothing leaks."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest
import trio.testing
from anyio.abc import SocketAttribute, SocketStream

from utd_trio import (
    Connected,
    ConnectionState,
    Disconnected,
    ErrorCode,
    Session,
    Signaling,
    UTDApi,
    UTDStreamError,
    open_signal_client,
    open_signaling,
)
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

IO = 10


@asynccontextmanager
async def silent_listener() -> AsyncIterator[int]:
    """A 127.0.0.1 port that accepts TCP and never answers (a blackholed upgrade)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)

    async def hold(stream: SocketStream) -> None:
        async with stream:
            await anyio.sleep_forever()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hold)
        yield listener.extra(SocketAttribute.local_port)
        tg.cancel_scope.cancel()


async def test_blackholed_upgrade_times_out_with_a_timeout_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Regression: the TIMEOUT raised here was swallowed by the Cancelled of the connection's
    # own nursery during cleanup ("generator didn't yield"), which is not a UTDStreamError
    # and so crashed the whole session instead of being retried.
    with anyio.fail_after(IO):
        async with silent_listener() as port:
            session = Session(user_token="tok", ws_url=f"ws://127.0.0.1:{port}/ws")
            with pytest.raises(UTDStreamError) as info:
                async with open_signal_client(session, connect_timeout=2):
                    pytest.fail("connected to a silent peer")
    assert info.value.code is ErrorCode.TIMEOUT


async def test_session_survives_a_blackholed_reconnect(
    utd_engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    async with silent_listener() as port:
        urls = [utd_engine.ws_url, f"ws://127.0.0.1:{port}/ws"]

        async def provider() -> Mapping[str, Any]:
            session = await _mint(utd_engine)
            url = urls.pop(0) if urls else utd_engine.ws_url
            return {"user_token": session.user_token, "ws_url": url}

        with anyio.fail_after(120):
            async with _provided(utd_engine, provider, connect_timeout=3) as sig:
                async with sig.events(Connected, Disconnected) as stream:
                    await utd_engine.drop_sockets("alice", code=None)
                    seen: list[Any] = []
                    while not isinstance(event := await stream.receive(), Connected):
                        seen.append(event)
                assert sig.state is ConnectionState.CONNECTED
                assert event.generation == 2
    reasons = [ev.reason for ev in seen if isinstance(ev, Disconnected)]
    assert any("no connection within" in reason for reason in reasons), reasons


# --- fail fast on what retrying cannot fix (first connect only) -------------------------------


async def _mint(engine: Engine, ssl_context: ssl.SSLContext | None = None) -> Session:
    """A session for alice minted with the app secret, as a backend's provider does."""
    project = engine.default_project
    async with UTDApi(
        app_id=project.app_id,
        app_secret=project.app_secret,
        base_url=engine.base_url,
        ssl_context=ssl_context,
    ) as backend:
        return await backend.mint_session("alice", bind=False)


def _provided(
    engine: Engine, provider: Callable[[], Awaitable[Any]], *, connect_timeout: float
) -> AbstractAsyncContextManager[Signaling]:
    """Alice's session on ``engine``, with its sessions from ``provider``."""
    return open_signaling(
        app_id=engine.default_project.app_id,
        user_id="alice",
        session_provider=provider,
        base_url=engine.base_url,
        connect_timeout=connect_timeout,
    )


async def _free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)
    await listener.aclose()
    return port


async def test_refused_loopback_mint_fails_at_once_naming_the_url() -> None:
    port = await _free_port()
    start = anyio.current_time()
    with anyio.fail_after(IO), pytest.raises(UTDStreamError) as info:
        async with open_signaling(
            app_id="app_test",
            user_id="alice",
            app_key="key_test",
            base_url=f"http://127.0.0.1:{port}",
            connect_timeout=60,
        ):
            pytest.fail("connected to a closed port")
    assert anyio.current_time() - start < 5  # not connect_timeout (60 s)
    assert info.value.code is ErrorCode.NETWORK
    assert f"http://127.0.0.1:{port}/api/v1/auth/session" in info.value.message
    assert "is the engine running at this URL?" in info.value.message


async def test_bad_key_and_wrong_base_url_fail_at_once_saying_what_to_check(
    utd_engine: Engine,
) -> None:
    project = utd_engine.default_project
    cases = [
        ({"app_key": "wrong"}, ErrorCode.UNAUTHORIZED, "check app_id and app_key"),
        (
            {"app_key": project.app_key, "base_url": utd_engine.base_url + "/v9"},
            ErrorCode.NOT_FOUND,
            "is base_url the engine's REST root?",
        ),
    ]
    for extra, code, hint in cases:
        kwargs: dict[str, Any] = {"base_url": utd_engine.base_url, **extra}
        with anyio.fail_after(IO), pytest.raises(UTDStreamError) as info:
            async with open_signaling(
                app_id=project.app_id, user_id="alice", connect_timeout=60, **kwargs
            ):
                pytest.fail("connected with bad credentials")
        assert info.value.code is code
        assert hint in info.value.message
        assert "wrong" not in info.value.message  # the key is never quoted


async def test_untrusted_websocket_certificate_fails_at_once(utd_engine_tls: Engine) -> None:
    # The mint is trusted (the provider's own client); the WebSocket is not.
    async def provider() -> Session:
        return await _mint(utd_engine_tls, utd_engine_tls.client_ssl_context())

    with anyio.fail_after(IO), pytest.raises(UTDStreamError) as info:
        async with _provided(utd_engine_tls, provider, connect_timeout=60):
            pytest.fail("connected to an untrusted certificate")
    assert info.value.code is ErrorCode.NETWORK
    assert "WebSocket wss://" in info.value.message
    assert "certificate does not verify" in info.value.message
    assert "UTD_CA_FILE" in info.value.message


async def test_blackholed_mint_is_bounded_by_connect_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Before: the mint had request_timeout (10 s) of its own, so connect_timeout=3 raised
    # after 10 s.
    async with silent_listener() as port:
        start = anyio.current_time()
        with anyio.fail_after(IO * 6), pytest.raises(UTDStreamError) as info:
            async with open_signaling(
                app_id="app_test",
                user_id="alice",
                app_key="key_test",
                base_url=f"http://127.0.0.1:{port}",
                connect_timeout=3,
                request_timeout=10,
            ):
                pytest.fail("connected to a silent peer")
        elapsed = anyio.current_time() - start
    assert info.value.code is ErrorCode.TIMEOUT
    assert "no connection within 3 s" in info.value.message
    assert elapsed == pytest.approx(3, abs=0.5)


async def test_a_provider_that_overruns_connect_timeout_is_a_timeout(
    utd_engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    # A provider that does not heed cancellation (a shielded or blocking call) answers
    # after the first connect's deadline. That once left 0 s for the socket, and open
    # failed with a ValueError about its own connect_timeout instead of a timeout.

    async def provider() -> Session:
        session = await _mint(utd_engine)
        with anyio.CancelScope(shield=True):
            await anyio.sleep(5)
        return session  # no checkpoint between the deadline and the socket's opening

    with anyio.fail_after(IO * 6), pytest.raises(UTDStreamError) as info:
        async with _provided(utd_engine, provider, connect_timeout=3):
            pytest.fail("connected after the deadline")
    assert info.value.code is ErrorCode.TIMEOUT
    assert "no connection within 3 s" in info.value.message


async def test_refused_reconnect_is_retried_not_fatal(
    utd_engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    # An engine restart looks like a refused port for a while: only the first connect fails
    # fast on it.
    port = await _free_port()
    urls = [utd_engine.ws_url, f"ws://127.0.0.1:{port}/ws", f"ws://127.0.0.1:{port}/ws"]

    async def provider() -> Mapping[str, Any]:
        session = await _mint(utd_engine)
        url = urls.pop(0) if urls else utd_engine.ws_url
        return {"user_token": session.user_token, "ws_url": url}

    with anyio.fail_after(120):
        async with _provided(utd_engine, provider, connect_timeout=3) as sig:
            async with sig.events(Connected, Disconnected) as stream:
                await utd_engine.drop_sockets("alice", code=None)
                seen: list[Any] = []
                while not isinstance(event := await stream.receive(), Connected):
                    seen.append(event)
            assert event.generation == 2
    refused = [ev for ev in seen if isinstance(ev, Disconnected) and "refused" in ev.reason]
    assert len(refused) == 2, seen
    assert all(ev.will_retry for ev in refused)
