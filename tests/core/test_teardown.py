"""Leaving the block returns within close_timeout from any state; nothing is left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import pytest
import trio.testing

from utd_trio import (
    CallCancelled,
    CallIncoming,
    Connected,
    ConnectionState,
    Disconnected,
    open_signaling,
)
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]
CLOSE = 2.0
KEEP_ALIVE = 5.0  # hypercorn's default keep-alive timeout, used by the engine


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; yields its port."""
    held: list[anyio.abc.SocketStream] = []

    async def hold(stream: anyio.abc.SocketStream) -> None:
        held.append(stream)
        async with stream:
            await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hold)
        yield listener.extra(anyio.abc.SocketAttribute.local_port)
        tg.cancel_scope.cancel()


async def cancel_after(delay: float, kwargs: dict[str, Any]) -> float:
    """Start open_signaling, cancel it from outside after ``delay``; return the close time."""
    with anyio.move_on_after(delay) as scope:
        async with open_signaling(**kwargs):
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    return anyio.current_time() - scope.deadline


async def mint_against_a_silent_engine(close: float, delay: float) -> float:
    """Cancel ``open_signaling`` while its mint waits on a server that never answers."""
    async with silent_server() as port:
        kwargs = {
            "app_id": "a",
            "app_key": "k",
            "user_id": "alice",
            "base_url": f"http://127.0.0.1:{port}",
            "close_timeout": close,
        }
        return await cancel_after(delay, kwargs)


async def handshake_with_a_silent_server(
    engine: Engine, kwargs: dict[str, Any], close: float, delay: float
) -> float:
    """Cancel ``open_signaling`` while its WebSocket upgrade waits on a silent server."""
    async with silent_server() as port:
        from utd_trio import UTDApi

        project = engine.default_project

        async def provider() -> dict[str, Any]:
            async with UTDApi(
                app_id=project.app_id, app_secret=project.app_secret, base_url=engine.base_url
            ) as backend:
                session = await backend.mint_session("alice")
            # The upgrade goes to a server that never answers it.
            return {"user_token": session.user_token, "ws_url": f"ws://127.0.0.1:{port}/ws"}

        kwargs = {**kwargs, "close_timeout": close}
        del kwargs["app_key"]
        return await cancel_after(delay, {**kwargs, "session_provider": provider})


async def cancel_in_backoff(engine: Engine, kwargs: dict[str, Any]) -> float:
    """Cancel a session deep into its reconnect backoff; return the close time."""
    with anyio.CancelScope() as scope:
        async with open_signaling(**kwargs) as sig:
            async with sig.events(Disconnected) as stream:
                engine.fail_next_mints(1000, 503)
                await engine.drop_sockets("alice")
                for _ in range(5):  # deep into the backoff schedule
                    await stream.receive()
                assert sig.state is ConnectionState.RECONNECTING
                started = anyio.current_time()
                scope.cancel()
                await anyio.sleep_forever()
    return anyio.current_time() - started


async def close_with_a_stalled_engine(engine: Engine, kwargs: dict[str, Any]) -> float:
    """Leave the block while the engine reads nothing; return the close time."""
    async with open_signaling(**kwargs):
        engine.stall_sockets("alice")
        started = anyio.current_time()
    return anyio.current_time() - started


async def test_cancel_while_minting_against_a_silent_engine(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with anyio.fail_after(60):
        assert await mint_against_a_silent_engine(CLOSE, 3.0) <= CLOSE


async def test_cancel_mid_websocket_handshake(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(60):
        elapsed = await handshake_with_a_silent_server(utd_engine, creds(utd_engine), CLOSE, 3.0)
        assert elapsed <= CLOSE


async def test_cancel_during_backoff_sleep(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(120):
        kwargs = creds(utd_engine, close_timeout=CLOSE)
        assert await cancel_in_backoff(utd_engine, kwargs) <= CLOSE


async def test_close_with_a_stalled_engine_is_bounded(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(60):
        elapsed = await close_with_a_stalled_engine(
            utd_engine, creds(utd_engine, close_timeout=CLOSE)
        )
    assert elapsed <= CLOSE


# The same teardowns in real time, on both loops: the virtual-time tests above pin the bound
# exactly on Trio; these show each state is left promptly under asyncio too (a short
# close_timeout, and slack for a loaded machine).
REAL_CLOSE = 0.5
SLACK = 1.0


async def test_cancel_while_minting_in_real_time() -> None:
    with anyio.fail_after(10):
        assert await mint_against_a_silent_engine(REAL_CLOSE, 0.2) <= REAL_CLOSE + SLACK


async def test_cancel_mid_websocket_handshake_in_real_time(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        elapsed = await handshake_with_a_silent_server(
            utd_engine, creds(utd_engine), REAL_CLOSE, 0.3
        )
        assert elapsed <= REAL_CLOSE + SLACK


async def test_cancel_during_backoff_in_real_time(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        kwargs = creds(utd_engine, close_timeout=REAL_CLOSE, backoff_base=0.01)
        assert await cancel_in_backoff(utd_engine, kwargs) <= REAL_CLOSE + SLACK


async def test_close_with_a_stalled_engine_in_real_time(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        elapsed = await close_with_a_stalled_engine(
            utd_engine, creds(utd_engine, close_timeout=REAL_CLOSE)
        )
    assert elapsed <= REAL_CLOSE + SLACK


async def test_cancel_while_connected_is_prompt(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        with anyio.CancelScope() as scope:
            async with open_signaling(**creds(utd_engine)):
                scope.cancel()
                await anyio.sleep_forever()
        await utd_engine.wait_socket_count("alice", 0)


async def test_a_shielded_cleanup_inside_the_block_still_has_its_session(
    utd_engine: Engine, creds: Creds
) -> None:
    # The scope around the block is cancelled; the user's code cancels its ringing call in a
    # shielded finally, before leaving. The session ends only when the block is left, so the
    # cancel always goes out (it used to race the session's own teardown).
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, user_id="bob")) as bob:
            async with bob.events(CallIncoming, CallCancelled) as bob_events:
                with anyio.CancelScope() as outer:
                    async with open_signaling(**creds(utd_engine)) as alice:
                        call = await alice.invite("bob")
                        assert isinstance(await bob_events.receive(), CallIncoming)
                        try:
                            outer.cancel()
                            await anyio.sleep_forever()
                        finally:
                            with anyio.CancelScope(shield=True):
                                await alice.cancel_call(call.call_id)
                assert outer.cancelled_caught
                cancelled = await bob_events.receive()
                assert isinstance(cancelled, CallCancelled)
                assert cancelled.call_id == call.call_id
        await utd_engine.wait_socket_count("alice", 0)


async def _settle() -> None:
    """Let the engine's idle HTTP connections expire, then wait until every task is idle.

    Hypercorn keeps a connection's server tasks until its keep-alive timeout (5 s) even after
    the client closed it — e.g. a REST call of a connect hook cancelled by the next drop — so
    counting before then would count the engine's tasks, not leaked ones of the session.
    """
    await anyio.sleep(KEEP_ALIVE + 1)
    await anyio.wait_all_tasks_blocked()


@pytest.mark.slow  # ~30 s of real CPU for 1,000 reconnects (virtual time); CI still runs it
async def test_a_thousand_reconnects_leave_the_task_count_flat(
    utd_engine: Engine,
    creds: Creds,
    task_count: Callable[[], int],
    autojump_clock: trio.testing.MockClock,
) -> None:
    with anyio.fail_after(3600):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events(Connected) as stream:
            await _settle()
            baseline = task_count()
            for generation in range(2, 1002):
                await utd_engine.drop_sockets("alice")
                assert (await stream.receive()).generation == generation
            await _settle()
            assert task_count() == baseline
            assert utd_engine.socket_count("alice") == 1
            assert sig.reconnects == 1000
