"""Cancellation safety: cancel a request, a connect, a close and an invite at every scheduling
step; afterwards the session state is consistent, no task and no engine socket leaked, and the
next operation works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
import trio.testing

from utd_trio import (
    CallMissed,
    ConnectionState,
    ErrorCode,
    MessageReceived,
    Signaling,
    UTDStreamError,
    open_signaling,
)
from utd_trio.testing import Engine, open_engine

from ._steps import client_sockets, client_task_count, counting_steps, task_names

pytestmark = pytest.mark.both_loops

MAX_STEPS = 600  # bound: every operation here completes in fewer steps


def creds(engine: Engine, user: str = "alice") -> dict[str, Any]:
    project = engine.default_project
    return {
        "app_id": project.app_id,
        "app_key": project.app_key,
        "user_id": user,
        "base_url": engine.base_url,
    }


@asynccontextmanager
async def engine_for_cancel() -> AsyncIterator[Engine]:
    async with open_engine(mint_rate_limit=None, ring_timeout=5) as engine:
        yield engine


async def settled_client_tasks() -> int:
    await anyio.wait_all_tasks_blocked()
    return client_task_count()


def engine_port(engine: Engine) -> int:
    return int(engine.base_url.rsplit(":", 1)[1])


def _pending(sig: Signaling) -> int:
    client = sig.client
    return 0 if client is None else len(client._waiters)  # pyright: ignore[reportPrivateUsage]


async def test_cancel_a_request_at_every_step() -> None:
    with anyio.fail_after(60), counting_steps() as cut:
        async with engine_for_cancel() as engine, open_signaling(**creds(engine)) as sig:
            await sig.subscribe_presence(["bob"])  # warm up (the first call imports, logs...)
            baseline = await settled_client_tasks()
            completed_at = None
            for n in range(MAX_STEPS):
                with anyio.CancelScope() as scope:
                    cut.arm(scope, n)
                    await sig.subscribe_presence(["bob"])
                cut.disarm()
                # Consistent: still connected on the same socket, no waiter left behind.
                assert sig.state is ConnectionState.CONNECTED, n
                assert sig.generation == 1, n
                assert _pending(sig) == 0, n
                assert engine.socket_count("alice") == 1, n
                assert await settled_client_tasks() == baseline, n
                # And the next request works.
                assert (await sig.subscribe_presence(["bob"]))[0].user_id == "bob"
                if not scope.cancelled_caught:
                    completed_at = n
                    break
    assert completed_at is not None
    assert completed_at > 3, completed_at
    print(f"request: cancelled at each of {completed_at} steps")


async def test_cancel_a_connect_at_every_step() -> None:
    with anyio.fail_after(120), counting_steps() as cut:
        async with engine_for_cancel() as engine:
            async with open_signaling(**creds(engine)):  # warm up
                pass
            await engine.wait_socket_count("alice", 0)
            baseline = await settled_client_tasks()
            completed_at = None
            for n in range(MAX_STEPS):
                sig: Signaling | None = None
                with anyio.CancelScope() as scope:
                    cut.arm(scope, n)
                    async with open_signaling(**creds(engine)) as sig:
                        cut.disarm()
                cut.disarm()
                if sig is not None:
                    assert sig.state is ConnectionState.CLOSED, n
                await engine.wait_socket_count("alice", 0)
                assert await settled_client_tasks() == baseline, f"{n}: {task_names()}"
                assert client_sockets(engine_port(engine)) == 0, n
                if not scope.cancelled_caught:
                    completed_at = n
                    break
            async with open_signaling(**creds(engine)) as sig:
                assert sig.state is ConnectionState.CONNECTED
    assert completed_at is not None
    assert completed_at > 10, completed_at
    print(f"connect: cancelled at each of {completed_at} steps")


async def test_cancel_a_close_at_every_step() -> None:
    with anyio.fail_after(120), counting_steps() as cut:
        async with engine_for_cancel() as engine:
            async with open_signaling(**creds(engine)):  # warm up
                pass
            await engine.wait_socket_count("alice", 0)
            baseline = await settled_client_tasks()
            completed_at = None
            for n in range(MAX_STEPS):
                with anyio.CancelScope() as scope:
                    async with open_signaling(**creds(engine)) as sig:
                        cut.arm(scope, n)
                        await sig.aclose()
                        # aclose done before the cut: the block's exit is cut instead
                cut.disarm()
                assert sig.state is ConnectionState.CLOSED, n
                with pytest.raises(UTDStreamError) as info:
                    await sig.subscribe_presence(["bob"])
                assert info.value.code is ErrorCode.CLOSED
                await engine.wait_socket_count("alice", 0)
                assert await settled_client_tasks() == baseline, f"{n}: {task_names()}"
                assert client_sockets(engine_port(engine)) == 0, n
                if not cut.fired:
                    completed_at = n
                    break
    assert completed_at is not None
    assert completed_at > 3, completed_at
    print(f"close: cancelled at each of {completed_at} steps")


async def test_cancel_an_invite_at_every_step(autojump_clock: trio.testing.MockClock) -> None:
    with anyio.fail_after(3600), counting_steps() as cut:
        async with engine_for_cancel() as engine:
            async with (
                open_signaling(**creds(engine, "bob")),
                open_signaling(**creds(engine)) as sig,
            ):
                async with sig.events(CallMissed) as missed:
                    baseline = await settled_client_tasks()
                    completed_at = None
                    for n in range(MAX_STEPS):
                        with anyio.CancelScope() as scope:
                            cut.arm(scope, n)
                            call = await sig.invite("bob")
                        cut.disarm()
                        assert sig.state is ConnectionState.CONNECTED, n
                        assert _pending(sig) == 0, n
                        assert engine.socket_count("alice") == 1, n
                        # The next invite works — once a call the cut left ringing has
                        # rung out (the engine made it; the caller never learnt its id).
                        try:
                            call = await sig.invite("bob")
                        except UTDStreamError as exc:
                            if exc.code is not ErrorCode.CONFLICT:
                                raise
                            await missed.receive()
                            call = await sig.invite("bob")
                        await sig.cancel_call(call.call_id)
                        assert await settled_client_tasks() == baseline, n
                        if not scope.cancelled_caught:
                            completed_at = n
                            break
    assert completed_at is not None
    assert completed_at > 3, completed_at
    print(f"invite: cancelled at each of {completed_at} steps")


async def test_cancel_a_send_message_at_every_step() -> None:
    with anyio.fail_after(60), counting_steps() as cut:
        async with (
            engine_for_cancel() as engine,
            open_signaling(**creds(engine, "bob")) as bob,
            open_signaling(**creds(engine)) as sig,
            bob.events(MessageReceived) as inbox,
        ):
            await sig.send_message(to="bob", text="warm-up")
            await inbox.receive()
            baseline = await settled_client_tasks()
            completed_at = None
            for n in range(MAX_STEPS):
                with anyio.CancelScope() as scope:
                    cut.arm(scope, n)
                    await sig.send_message(to="bob", text=f"cut-{n}")
                cut.disarm()
                assert sig.state is ConnectionState.CONNECTED, n
                assert _pending(sig) == 0, n
                assert engine.socket_count("alice") == 1, n
                # The next send works, and bob gets the cut one at most once, before it.
                after = await sig.send_message(to="bob", text=f"after-{n}")
                texts = []
                while not texts or texts[-1] != after.text:
                    texts.append((await inbox.receive()).message.text)
                assert texts in ([f"cut-{n}", f"after-{n}"], [f"after-{n}"]), texts
                assert await settled_client_tasks() == baseline, f"{n}: {task_names()}"
                if not scope.cancelled_caught:
                    completed_at = n
                    break
    assert completed_at is not None
    assert completed_at > 3, completed_at
    print(f"send_message: cancelled at each of {completed_at} steps")
