"""Client security defaults: TLS always verified, no silent downgrade to plain text, inbound
frames bounded, and the engine's rate limit honoured."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import anyio
import pytest
import trio.testing
import trustme

from utd_trio import (
    Connected,
    ConnectionState,
    Disconnected,
    ErrorCode,
    PresenceChanged,
    Session,
    UTDApi,
    UTDStreamError,
    open_signal_client,
    open_signaling,
)
from utd_trio.testing import Engine, open_engine

from ._fake_ws import CANARY_USER, canary, fake_engine_ws
from .conftest import IO, creds

pytestmark = pytest.mark.both_loops

ONE_MIB = 1024 * 1024
TEST_NET = "192.0.2.10"  # RFC 5737: never routed; a connection attempt would hang, not fail


def _foreign_ca_context() -> ssl.SSLContext:
    """A client context trusting some other CA (a valid chain, just not the engine's)."""
    ctx = ssl.create_default_context()
    trustme.CA().configure_trust(ctx)
    return ctx


# --- TLS verification ---------------------------------------------------------------------


async def test_rest_refuses_a_certificate_from_an_untrusted_ca(
    utd_engine_tls: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(IO), pytest.raises(UTDStreamError) as info:
        async with open_signaling(
            **creds(utd_engine_tls, ssl_context=_foreign_ca_context(), connect_timeout=3)
        ):
            pytest.fail("connected through an untrusted certificate")
    assert info.value.code is ErrorCode.NETWORK
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message or "certificate" in str(info.value)
    assert utd_engine_tls.mint_count() == 0


async def test_websocket_refuses_a_certificate_from_an_untrusted_ca(
    utd_engine_tls: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    # The app's backend mints (trusted), the app itself trusts another CA: only the WSS leg
    # is exercised, and it must not connect.
    project = utd_engine_tls.default_project
    backend = UTDApi(
        app_id=project.app_id,
        app_secret=project.app_secret,
        base_url=utd_engine_tls.base_url,
        ssl_context=utd_engine_tls.client_ssl_context(),
    )

    async def provider() -> Session:
        return await backend.mint_session("alice", bind=False)

    with anyio.fail_after(IO):
        async with backend:
            with pytest.raises(UTDStreamError) as info:
                async with open_signaling(
                    app_id=project.app_id,
                    user_id="alice",
                    session_provider=provider,
                    base_url=utd_engine_tls.base_url,
                    ssl_context=_foreign_ca_context(),
                    connect_timeout=3,
                ):
                    pytest.fail("connected through an untrusted certificate")
            # Control: the same path with the engine's CA connects.
            async with open_signaling(
                app_id=project.app_id,
                user_id="alice",
                session_provider=provider,
                base_url=utd_engine_tls.base_url,
                ssl_context=utd_engine_tls.client_ssl_context(),
            ) as sig:
                assert sig.state is ConnectionState.CONNECTED
    assert info.value.code is ErrorCode.NETWORK
    assert utd_engine_tls.stats.sockets_opened == 1  # only the control


async def test_default_trust_is_the_system_store_never_unverified(
    utd_engine_tls: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    # No ssl_context at all: the system trust store does not know trustme's CA.
    with anyio.fail_after(IO), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine_tls, connect_timeout=2, ssl_context=None)):
            pytest.fail("connected without verifying the certificate")
    assert info.value.code is ErrorCode.NETWORK


# --- no plain text off loopback -----------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [f"http://{TEST_NET}:8080", "http://engine.example.com", "http://[2001:db8::1]:80"],
)
async def test_plain_http_to_a_remote_host_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="allow_insecure"):
        async with open_signaling(app_id="app", app_key="k", user_id="alice", base_url=base_url):
            pytest.fail("unreachable")
    with pytest.raises(ValueError, match="allow_insecure"):
        UTDApi(app_id="app", app_key="k", base_url=base_url)
    # The explicit opt-in is honoured (construction only: no network here).
    assert UTDApi(app_id="app", app_key="k", base_url=base_url, allow_insecure=True)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:1", "http://127.8.9.10:1", "http://[::1]:1", "http://localhost:1"],
)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    assert UTDApi(app_id="app", app_key="k", base_url=base_url)


async def test_plain_ws_to_a_remote_host_is_refused_by_the_low_level_client() -> None:
    session = Session(user_token="tok_secret", ws_url=f"ws://{TEST_NET}:9/ws")
    with anyio.fail_after(IO), pytest.raises(ValueError, match="downgrade TLS"):
        async with open_signal_client(session):
            pytest.fail("unreachable")


@pytest.mark.parametrize("ws_url", [f"ws://{TEST_NET}:9/ws", "ws://engine.example.com/ws"])
async def test_minted_ws_url_that_downgrades_is_refused_at_first_connect(
    utd_engine: Engine, ws_url: str
) -> None:
    project = utd_engine.default_project
    calls = 0

    async def provider() -> Mapping[str, Any]:
        nonlocal calls
        calls += 1
        async with UTDApi(
            app_id=project.app_id, app_secret=project.app_secret, base_url=utd_engine.base_url
        ) as backend:
            session = await backend.mint_session("alice")
        return {"user_token": session.user_token, "ws_url": ws_url}

    # fail_after proves no connection was attempted (TEST-NET would hang, not refuse).
    with anyio.fail_after(5), pytest.raises(ValueError, match="downgrade TLS") as info:
        async with open_signaling(
            app_id=project.app_id,
            user_id="alice",
            session_provider=provider,
            base_url=utd_engine.base_url,
        ):
            pytest.fail("connected over a downgraded ws_url")
    assert calls == 1
    assert "tok" not in str(info.value)
    assert utd_engine.stats.sockets_opened == 0


async def test_minted_ws_url_that_downgrades_on_reconnect_is_refused(utd_engine: Engine) -> None:
    project = utd_engine.default_project
    urls = [utd_engine.ws_url, f"ws://{TEST_NET}:9/ws"]

    async def provider() -> Mapping[str, Any]:
        async with UTDApi(
            app_id=project.app_id, app_secret=project.app_secret, base_url=utd_engine.base_url
        ) as backend:
            session = await backend.mint_session("alice")
        return {"user_token": session.user_token, "ws_url": urls.pop(0)}

    with anyio.fail_after(5), pytest.raises(ValueError, match="downgrade TLS"):
        async with open_signaling(
            app_id=project.app_id,
            user_id="alice",
            session_provider=provider,
            base_url=utd_engine.base_url,
        ) as sig:
            await utd_engine.drop_sockets("alice", code=1011)
            await anyio.sleep_forever()  # the session ends with the refusal
    assert sig.state is ConnectionState.CLOSED
    assert utd_engine.stats.sockets_opened == 1


# --- inbound frame bounds -----------------------------------------------------------------


async def test_inbound_frame_over_one_mib_is_dropped_and_counted() -> None:
    with anyio.fail_after(IO):
        async with fake_engine_ws() as fake:
            async with open_signaling(
                app_id="app",
                user_id="alice",
                session_provider=fake.session,
                base_url="http://127.0.0.1:1",
            ) as sig:
                async with sig.events(PresenceChanged) as stream:
                    pad = "x" * ONE_MIB
                    await fake.send_raw(canary(0)[:-1] + f', "pad": "{pad}"}}')
                    await fake.send_raw(canary(1))
                    event = await stream.receive()
                assert event.user_id == f"{CANARY_USER}1"  # the oversize one never arrived
                assert sig.stats.dropped == {"oversize": 1}
                assert sig.state is ConnectionState.CONNECTED
                assert sig.generation == 1
                assert fake.connections == 1


async def test_frame_past_the_memory_guard_drops_the_connection_and_reconnects() -> None:
    # Above 16 MiB the transport stops buffering (1009): memory stays bounded, and the
    # session recovers on a new connection. Real time, not the autojump clock: moving 17 MiB
    # through loopback takes real time, during which a virtual clock would jump past
    # heartbeat deadlines whenever every task waits on the kernel (flaky under load).
    with anyio.fail_after(IO):
        async with fake_engine_ws() as fake:
            async with open_signaling(
                app_id="app",
                user_id="alice",
                session_provider=fake.session,
                base_url="http://127.0.0.1:1",
            ) as sig:
                async with sig.events(Connected, Disconnected) as stream:
                    await fake.send_raw("y" * (17 * ONE_MIB))
                    lost = await stream.receive()
                    again = await stream.receive()
                assert isinstance(lost, Disconnected)
                assert lost.will_retry
                assert isinstance(again, Connected)
                assert again.generation == 2


HOSTILE = [
    b"\x00\x01binary",
    "",
    "not json",
    "[1, 2, 3]",
    '"just a string"',
    "null",
    "{}",
    '{"event": 42}',
    '{"event": ""}',
    '{"event": "presence.update", "data": "{not json"}',
    '{"event": "presence.update", "data": [1, 2]}',
    '{"event": "presence.update", "data": {"user_id": 5, "online": "maybe"}}',
    '{"event": "presence.update", "data": {}}',
    '{"event": "call.incoming", "data": {"call_id": null}}',
    '{"event": "message.new", "data": {"seq": "NaN", "created_at": "yesterday"}}',
    '{"event": "receipt", "data": {"up_to_seq": 1e999}}',
    '{"event": "group.updated", "data": {"members": "everyone"}}',
    '{"event": "capabilities.updated", "data": {"limits": [1], "signaling_enabled": "perhaps"}}',
    '{"event": "ack", "ref": "nobody-asked", "data": {}}',
    '{"event": "error", "ref": "nobody-asked", "data": {"status": "teapot"}}',
    '{"event": "error", "data": {"status": 500, "code": "x"}}',
    '{"event": "no.such.event", "data": {"x": 1}}',
    '{"event": "connection.established", "data": {"heartbeat_interval": -1}}',
    '{"event": "typing", "data": {"conversation_id": ' + "9" * 5000 + "}}",
    "[" * 100_000 + "]" * 100_000,
    '{"event": "presence.update", "data": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
]


async def test_hostile_inbound_frames_never_break_the_session() -> None:
    with anyio.fail_after(IO):
        async with fake_engine_ws() as fake:
            async with open_signaling(
                app_id="app",
                user_id="alice",
                session_provider=fake.session,
                base_url="http://127.0.0.1:1",
            ) as sig:
                async with sig.events(PresenceChanged) as stream:
                    for n, payload in enumerate(HOSTILE):
                        await fake.send_raw(payload)
                        await fake.send_raw(canary(n))
                        while True:  # a hostile presence.update may decode; skip to the canary
                            event = await stream.receive()
                            if event.user_id == f"{CANARY_USER}{n}":
                                break
                assert sig.state is ConnectionState.CONNECTED
                assert sig.generation == 1
                assert fake.connections == 1
                assert sig.stats.dropped_total >= 8


# --- rate limits --------------------------------------------------------------------------


async def test_engine_rate_limit_and_retry_after_are_honoured(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with anyio.fail_after(300):
        async with open_engine(mint_rate_limit=2) as engine:
            async with open_signaling(**creds(engine)) as sig:
                async with sig.events(Connected, Disconnected) as stream:
                    await engine.drop_sockets("alice", code=1011)  # 2nd mint: allowed
                    assert isinstance(await stream.receive(), Disconnected)
                    assert isinstance(await stream.receive(), Connected)
                    dropped_at = anyio.current_time()
                    await engine.drop_sockets("alice", code=1011)  # 3rd mint: 429
                    waits: list[float] = []
                    while True:
                        event = await stream.receive()
                        if isinstance(event, Connected):
                            break
                        assert isinstance(event, Disconnected)
                        waits.append(event.retry_in or 0.0)
                    back_at = anyio.current_time()
            refused = engine.stats.mint_requests - engine.stats.mints
    # Exactly one refused mint: the supervisor waited out Retry-After instead of hammering.
    assert refused == 1
    assert engine.mint_count("alice") == 3
    assert max(waits) >= 55  # Retry-After: what is left of the 60 s window
    assert back_at - dropped_at >= 55


async def test_close_4029_backs_off_at_least_five_seconds(
    utd_engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(60):
        async with open_signaling(**creds(utd_engine)) as sig:
            async with sig.events(Connected, Disconnected) as stream:
                start = anyio.current_time()
                await utd_engine.drop_sockets("alice", code=4029, reason="Too many requests")
                lost = await stream.receive()
                assert isinstance(lost, Disconnected)
                # A retry may fail once more (e.g. the engine closed an idle keep-alive
                # connection meanwhile); the floor applies to the first wait.
                while not isinstance(await stream.receive(), Connected):
                    pass
    assert lost.code == 4029
    assert lost.retry_in is not None
    assert lost.retry_in >= 5
    assert anyio.current_time() - start >= 5
