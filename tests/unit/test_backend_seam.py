"""The loop seam (`utd_trio._backend`): the parking lot and the loop detection, on both loops."""

from __future__ import annotations

import anyio
import pytest

from utd_trio._backend import ParkingLot, current_backend, current_clock

pytestmark = pytest.mark.both_loops


async def test_unpark_wakes_the_first_parked_task_only(anyio_backend: str) -> None:
    lot = ParkingLot()
    woken: list[int] = []

    async def park(i: int) -> None:
        await lot.park()
        woken.append(i)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            for i in range(3):
                tasks.start_soon(park, i)
                await anyio.wait_all_tasks_blocked()
            assert len(lot) == 3
            assert lot
            lot.unpark()
            await anyio.wait_all_tasks_blocked()
            assert woken == [0]
            lot.unpark_all()
    assert woken[0] == 0
    assert sorted(woken) == [0, 1, 2]  # the rest wake together, in any order
    assert not lot
    assert current_backend() == anyio_backend


async def test_a_cancelled_waiter_leaves_no_stale_entry(anyio_backend: str) -> None:
    lot = ParkingLot()
    woken: list[str] = []

    async def park(name: str, scope: anyio.CancelScope) -> None:
        with scope:
            await lot.park()
            woken.append(name)

    first, second = anyio.CancelScope(), anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(park, "first", first)
            await anyio.wait_all_tasks_blocked()
            tasks.start_soon(park, "second", second)
            await anyio.wait_all_tasks_blocked()
            first.cancel()
            await anyio.wait_all_tasks_blocked()
            assert len(lot) == 1
            # The one wake-up goes to the task still waiting, not to the cancelled one.
            lot.unpark()
    assert woken == ["second"]


async def test_the_clock_is_the_one_anyio_reads(anyio_backend: str) -> None:
    clock = current_clock()
    before = anyio.current_time()
    assert before <= clock() <= anyio.current_time()


def test_outside_a_loop_the_seam_says_how_to_use_it() -> None:
    with pytest.raises(RuntimeError, match=r"trio\.run\(\) or asyncio\.run\(\)"):
        current_backend()
    ParkingLot()  # a lot can be made outside a loop; its backend is chosen on first park
