"""Faults while a connection is being made: the error that ends the attempt reaches the
supervisor (which retries), and nothing leaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from utd_trio import (
    Connected,
    ConnectionState,
    Disconnected,
    ErrorCode,
    Session,
    UTDApi,
    UTDStreamError,
    open_signal_client,
    open_signaling,
)
from utd_trio.testing import Engine

IO = 10


@asynccontextmanager
async def silent_listener() -> AsyncIterator[int]:
    """A 127.0.0.1 port that accepts TCP and never answers (a blackholed upgrade)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")

    async def hold(stream: trio.SocketStream) -> None:
        async with stream:
            await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, hold, listeners)
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def test_blackholed_upgrade_times_out_with_a_timeout_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Regression: the TIMEOUT raised here was swallowed by the Cancelled of the connection's
    # own nursery during cleanup ("generator didn't yield"), which is not a UTDStreamError
    # and so crashed the whole session instead of being retried.
    with trio.fail_after(IO):
        async with silent_listener() as port:
            session = Session(user_token="tok", ws_url=f"ws://127.0.0.1:{port}/ws")
            with pytest.raises(UTDStreamError) as info:
                async with open_signal_client(session, connect_timeout=2):
                    pytest.fail("connected to a silent peer")
    assert info.value.code is ErrorCode.TIMEOUT


async def test_session_survives_a_blackholed_reconnect(
    utd_engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    project = utd_engine.default_project
    async with silent_listener() as port:
        urls = [utd_engine.ws_url, f"ws://127.0.0.1:{port}/ws"]

        async def provider() -> Mapping[str, Any]:
            async with UTDApi(
                app_id=project.app_id, app_secret=project.app_secret, base_url=utd_engine.base_url
            ) as backend:
                session = await backend.mint_session("alice", bind=False)
            url = urls.pop(0) if urls else utd_engine.ws_url
            return {"user_token": session.user_token, "ws_url": url}

        with trio.fail_after(120):
            async with open_signaling(
                app_id=project.app_id,
                user_id="alice",
                session_provider=provider,
                base_url=utd_engine.base_url,
                connect_timeout=3,
            ) as sig:
                async with sig.events(Connected, Disconnected) as stream:
                    await utd_engine.drop_sockets("alice", code=None)
                    seen: list[Any] = []
                    while not isinstance(event := await stream.receive(), Connected):
                        seen.append(event)
                assert sig.state is ConnectionState.CONNECTED
                assert event.generation == 2
    reasons = [ev.reason for ev in seen if isinstance(ev, Disconnected)]
    assert any("no connection within" in reason for reason in reasons), reasons
