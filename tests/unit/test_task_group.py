"""`create_task_group`: the same surface on both loops (a Trio nursery / anyio's group)."""

from __future__ import annotations

import anyio
import anyio.abc
import pytest

from utd_trio._backend import create_task_group

pytestmark = pytest.mark.both_loops

IO = 5


async def test_start_returns_the_started_value_and_start_soon_runs_with_arguments() -> None:
    ran: list[tuple[str, int]] = []

    async def server(*, task_status: anyio.abc.TaskStatus[str]) -> None:
        task_status.started("ready")
        await anyio.sleep_forever()

    async def job(name: str, n: int) -> None:
        ran.append((name, n))

    with anyio.fail_after(IO):
        async with create_task_group() as tasks:
            assert await tasks.start(server) == "ready"
            tasks.start_soon(job, "a", 1)
            await anyio.wait_all_tasks_blocked()
            assert ran == [("a", 1)]
            tasks.cancel_scope.cancel()  # ends the server and the block, no error


async def test_a_task_s_error_leaves_the_block_in_an_exception_group() -> None:
    async def fail() -> None:
        raise KeyError("boom")

    with anyio.fail_after(IO), pytest.raises(BaseExceptionGroup) as caught:
        async with create_task_group() as tasks:
            tasks.start_soon(fail)
            await anyio.sleep_forever()
    assert [type(e) for e in caught.value.exceptions] == [KeyError]


async def test_no_task_can_start_once_the_block_is_left() -> None:
    async def nothing() -> None:
        return

    async with create_task_group() as tasks:
        pass
    with pytest.raises(RuntimeError):
        tasks.start_soon(nothing)


async def test_outer_cancellation_reaches_the_tasks_and_is_not_an_error() -> None:
    started = anyio.Event()
    with anyio.fail_after(IO), anyio.CancelScope() as outer:
        async with create_task_group() as tasks:

            async def wait() -> None:
                started.set()
                await anyio.sleep_forever()

            tasks.start_soon(wait)
            await started.wait()
            outer.cancel()
            await anyio.sleep_forever()
    assert outer.cancelled_caught
