"""`Latch` and `Pulse`: anyio.Event semantics, the event made only for a waiter (both loops)."""

from __future__ import annotations

import anyio
import pytest

from utd_trio._backend import Latch, Pulse

pytestmark = pytest.mark.both_loops

IO = 5


async def test_a_latch_set_before_the_wait_returns_at_once_and_stays_set() -> None:
    latch = Latch()
    assert not latch.is_set()
    latch.set()
    latch.set()  # idempotent
    with anyio.fail_after(IO):
        await latch.wait()
        await latch.wait()
    assert latch.is_set()


async def test_a_latch_wakes_every_task_waiting_for_it() -> None:
    latch = Latch()
    woken: list[int] = []
    with anyio.fail_after(IO):
        async with anyio.create_task_group() as tasks:
            for i in range(3):

                async def wait(i: int = i) -> None:
                    await latch.wait()
                    woken.append(i)

                tasks.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            assert woken == []
            latch.set()
    assert sorted(woken) == [0, 1, 2]


async def test_a_latch_wait_is_a_checkpoint_even_when_set() -> None:
    latch = Latch()
    latch.set()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await latch.wait()
        pytest.fail("a cancelled wait on a set latch must raise")
    assert scope.cancelled_caught


async def test_a_pulse_wakes_the_waiters_of_that_moment_only() -> None:
    pulse = Pulse()
    pulse.fire()  # nobody waits: nothing is remembered
    woken: list[str] = []
    with anyio.fail_after(IO):
        async with anyio.create_task_group() as tasks:

            async def wait(name: str) -> None:
                await pulse.wait()
                woken.append(name)

            tasks.start_soon(wait, "first")
            await anyio.wait_all_tasks_blocked()
            pulse.fire()
            await anyio.wait_all_tasks_blocked()
            assert woken == ["first"]
            tasks.start_soon(wait, "second")
            await anyio.wait_all_tasks_blocked()
            assert woken == ["first"]  # a fire before it waited did not count
            pulse.fire()
    assert woken == ["first", "second"]
