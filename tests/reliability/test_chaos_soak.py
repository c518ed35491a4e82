"""Chaos soak: users talk both ways in every DM and in a group, through TCP fault proxies.

The socket goes through a proxy that passes, delays, resets every connection and blackholes at
random (seeded); REST goes through a second proxy that is always slow (and resets now and
then), so recoveries run long while the socket is fast and both parties keep writing. Sends in
flight at a reset are sent again after the reconnect (idempotent on ``client_id``). Nothing
acked may be lost, duplicated or reordered (per conversation, by ``seq``, except in a
conversation a `RecoveryFinished` named incomplete); reconnects happen; no task survives the
sessions; the SDK's memory does not grow from round to round (the engine, the proxies and the
test's own bookkeeping run in this process too and are left out of the count).

CI runs a short soak (bounded to well under a minute of faults); ``UTD_SOAK_SECONDS=600``
runs a long one by hand, ``UTD_SOAK_SEED`` picks the fault schedule. The body is loop-neutral
(anyio), but CI runs it under Trio only (it takes about half a minute per loop);
``UTD_SOAK_BOTH_LOOPS=1`` runs it under asyncio as well.
"""

from __future__ import annotations

import gc
import os
import random
import tracemalloc
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import anyio
import pytest
from anyio.abc import TaskStatus

from utd_trio import (
    ChatMessage,
    MessageReceived,
    RecoveryFinished,
    Signaling,
    UTDApi,
    UTDStreamError,
    open_signaling,
)
from utd_trio.testing import open_engine

from ._proxy import FaultProxy, open_fault_proxy
from ._steps import client_task_count

pytestmark = pytest.mark.both_loops

SOAK_SECONDS = float(os.environ.get("UTD_SOAK_SECONDS", "20"))
SEED = int(os.environ.get("UTD_SOAK_SEED", "8"))
BOTH_LOOPS = os.environ.get("UTD_SOAK_BOTH_LOOPS") == "1"
USERS = ("u0", "u1", "u2", "u3")
GROUP = "group"  # every user writes to every other user and to one group of all four
HEARTBEAT = 0.5  # engine heartbeat interval (s)
HEARTBEAT_TIMEOUT = 1.0  # SDK: silence tolerated beyond the interval before declaring death
ROUND = 5.0  # seconds of faults before allocations are traced
TRACE_DEPTH = 6
# Memory that is not the SDK's: the in-process engine (its message store grows with every
# message by design), the fault proxies, and this file's own bookkeeping (top frame only, so
# the SDK code this test calls into is still counted).
NOT_SDK = (
    tracemalloc.Filter(False, "*/utd_trio/testing/*", all_frames=True),
    tracemalloc.Filter(False, "*/hypercorn/*", all_frames=True),
    tracemalloc.Filter(False, "*/starlette/*", all_frames=True),
    tracemalloc.Filter(False, "*/tests/reliability/_proxy.py", all_frames=True),
    tracemalloc.Filter(False, __file__),
    tracemalloc.Filter(False, tracemalloc.__file__),
)

Key = tuple[str, str]  # (target: a user id or GROUP, sender)


async def chaos(proxy: FaultProxy, rng: random.Random, until: float, log: list[str]) -> None:
    """The socket's fault timeline (anyio.sleep drives the schedule itself)."""
    while anyio.current_time() < until:
        await anyio.sleep(rng.uniform(0.3, 1.2))  # healthy stretch
        fault = rng.choice(["delay", "reset", "blackhole", "delay", "reset"])
        log.append(fault)
        if fault == "delay":
            proxy.set_mode("delay", rng.uniform(0.02, 0.3))
            await anyio.sleep(rng.uniform(0.5, 2.0))
        elif fault == "reset":
            proxy.reset()
        else:
            proxy.set_mode("blackhole")
            await anyio.sleep(rng.uniform(0.5, 3.0))
        proxy.set_mode("pass")


async def slow_rest(proxy: FaultProxy, rng: random.Random, until: float, log: list[str]) -> None:
    """The REST leg: always slower than the socket, and now and then reset."""
    while anyio.current_time() < until:
        proxy.set_mode("delay", rng.uniform(0.05, 0.4))
        await anyio.sleep(rng.uniform(1.0, 4.0))
        if rng.random() < 0.3:
            log.append("rest-reset")
            proxy.reset()
    proxy.set_mode("pass")


class Ledger:
    """What was sent (acked or unsure) and what each receiver got, per conversation."""

    def __init__(self) -> None:
        self.sent: dict[Key, list[int]] = defaultdict(list)  # acked numbers
        self.unsure: dict[Key, set[int]] = defaultdict(set)  # send raised: maybe stored
        self.got: dict[tuple[str, str, str], list[int]] = defaultdict(list)  # + receiver
        self.seqs: dict[tuple[str, str], list[int]] = defaultdict(list)  # (cid, receiver)
        self.incomplete: dict[str, set[str] | None] = {}  # receiver -> named conversations
        self.recoveries_incomplete = 0
        self.progress = anyio.Event()  # set (and replaced) on every delivery

    def expected(self) -> dict[tuple[str, str, str], set[int]]:
        """(target, sender, receiver) -> the acked numbers that receiver must get."""
        out: dict[tuple[str, str, str], set[int]] = {}
        for (target, sender), numbers in self.sent.items():
            receivers = [u for u in USERS if u != sender] if target == GROUP else [target]
            for receiver in receivers:
                out[(target, sender, receiver)] = set(numbers)
        return out

    def healed(self) -> bool:
        return all(n <= set(self.got[k]) for k, n in self.expected().items())

    def record(self, receiver: str, message: ChatMessage) -> None:
        target, sender, n = (message.text or "").split("|")
        assert sender == message.sender
        self.got[(target, sender, receiver)].append(int(n))
        self.seqs[(message.conversation_id, receiver)].append(message.seq)
        self.progress.set()
        self.progress = anyio.Event()

    def name_incomplete(self, receiver: str, conversations: frozenset[str] | None) -> None:
        self.recoveries_incomplete += 1
        named = self.incomplete.setdefault(receiver, set())
        if conversations is None or named is None:
            self.incomplete[receiver] = None  # any conversation
        else:
            named |= conversations

    def excused(self, cid: str, receiver: str) -> bool:
        """True if a recovery told ``receiver`` that ``cid`` may come out of order."""
        if receiver not in self.incomplete:
            return False
        named = self.incomplete[receiver]
        return named is None or cid in named


# About half a minute per loop: CI runs the soak once, under Trio.
ONE_LOOP_IN_CI = pytest.mark.trio_only(
    reason="a soak of about half a minute per loop runs once in CI; "
    "UTD_SOAK_BOTH_LOOPS=1 adds asyncio"
)
LOOPS = pytest.mark.both_loops if BOTH_LOOPS else ONE_LOOP_IN_CI


@pytest.mark.slow
@LOOPS
async def test_chaos_soak_loses_nothing() -> None:
    rng = random.Random(SEED + 1)  # sender pacing and targets
    fault_rng = random.Random(SEED)  # the fault timeline: same seed, same schedule
    rest_rng = random.Random(SEED + 2)
    book = Ledger()
    faults: list[str] = []
    tasks_before = client_task_count()
    with anyio.fail_after(SOAK_SECONDS + 90):
        async with open_engine(heartbeat_interval=HEARTBEAT, mint_rate_limit=None) as engine:
            project = engine.default_project
            engine_port = int(engine.base_url.rsplit(":", 1)[1])
            async with (
                open_fault_proxy(engine_port) as proxy,
                open_fault_proxy(engine_port) as rest_proxy,
                UTDApi(
                    app_id=project.app_id,
                    app_secret=project.app_secret,
                    base_url=engine.base_url,
                ) as backend,
            ):
                rest_base = f"http://127.0.0.1:{rest_proxy.port}"

                def provider_for(user: str) -> Any:
                    async def provider() -> Mapping[str, Any]:
                        session = await backend.mint_session(user, bind=False)
                        # REST via the slow proxy (base_url), the socket via the chaos one.
                        return {
                            "user_token": session.user_token,
                            "ws_url": f"ws://127.0.0.1:{proxy.port}/ws",
                            "messaging_enabled": True,
                            "signaling_enabled": True,
                        }

                    return provider

                async def receive(user: str, sig: Signaling, ready: anyio.Event) -> None:
                    kinds = (MessageReceived, RecoveryFinished)
                    async with sig.events(*kinds, overflow="block") as stream:
                        ready.set()
                        async for event in stream:
                            if isinstance(event, RecoveryFinished):
                                if not event.complete:
                                    book.name_incomplete(user, event.incomplete)
                            elif (
                                isinstance(event, MessageReceived) and event.message.sender != user
                            ):
                                book.record(user, event.message)

                async def send(user: str, sig: Signaling, group_id: str, until: float) -> None:
                    counters: dict[str, int] = defaultdict(int)
                    targets = [u for u in USERS if u != user] + [GROUP]
                    while anyio.current_time() < until:
                        target = rng.choice(targets)
                        counters[target] += 1
                        n = counters[target]
                        text = f"{target}|{user}|{n}"
                        try:
                            if target == GROUP:
                                await sig.send_message(group_id=group_id, text=text)
                            else:
                                await sig.send_message(to=target, text=text)
                        except UTDStreamError:
                            book.unsure[(target, user)].add(n)  # may or may not be stored
                            continue
                        book.sent[(target, user)].append(n)
                        await anyio.sleep(rng.uniform(0.0, 0.05))

                sessions: dict[str, Signaling] = {}
                async with anyio.create_task_group() as tg:
                    for user in USERS:
                        sig = await tg.start(_run_session, user, provider_for(user), rest_base)
                        sessions[user] = sig
                        ready = anyio.Event()
                        tg.start_soon(receive, user, sig, ready)
                        await ready.wait()
                    group = await sessions["u0"].create_group("soak", list(USERS[1:]))
                    start = anyio.current_time()
                    until = start + SOAK_SECONDS
                    async with anyio.create_task_group() as load:
                        load.start_soon(chaos, proxy, fault_rng, until, faults)
                        load.start_soon(slow_rest, rest_proxy, rest_rng, until, faults)
                        for user in USERS:
                            load.start_soon(send, user, sessions[user], group.group_id, until)
                        load.start_soon(_start_tracing, until)
                    proxy.set_mode("pass")
                    rest_proxy.set_mode("pass")
                    # Heal: wait (event-driven, bounded) until every acked message arrived;
                    # what is still missing then is lost, and counted below.
                    with anyio.move_on_after(30):
                        while not book.healed():
                            await book.progress.wait()
                    reconnects = sum(sig.reconnects for sig in sessions.values())
                    growth, biggest = _sdk_memory()  # the sessions are still up
                    tg.cancel_scope.cancel()
    await anyio.wait_all_tasks_blocked()
    tasks_after = client_task_count()
    tracemalloc.stop()

    expected = book.expected()
    total_sent = sum(len(v) for v in book.sent.values())
    delivered = sum(len(v) for v in book.got.values())
    lost = sum(len(n - set(book.got[k])) for k, n in expected.items())
    duplicated = sum(len(v) - len(set(v)) for v in book.got.values())
    phantom = sum(
        len(set(v) - expected.get(k, set()) - book.unsure[(k[0], k[1])])
        for k, v in book.got.items()
    )
    unordered = [k for k, seqs in book.seqs.items() if seqs != sorted(seqs)]
    out_of_order = [k for k in unordered if not book.excused(*k)]
    print(
        f"\nchaos soak: seed={SEED} seconds={SOAK_SECONDS:g} faults={len(faults)} "
        f"({', '.join(f'{k}={faults.count(k)}' for k in sorted(set(faults)))}) "
        f"resets={proxy.resets}+{rest_proxy.resets} (socket+REST)\n"
        f"  sent(acked)={total_sent} unsure={sum(len(v) for v in book.unsure.values())} "
        f"delivered={delivered} lost={lost} duplicated={duplicated} "
        f"out_of_order={len(out_of_order)} phantom={phantom} reconnects={reconnects} "
        f"(unordered conversations {len(unordered)}, "
        f"incomplete recoveries {book.recoveries_incomplete})\n"
        f"  tasks before={tasks_before} after={tasks_after} "
        f"SDK memory allocated after round 1, alive at the end: {growth // 1024} KiB\n  "
        + "\n  ".join(biggest)
    )
    assert total_sent > 50
    assert lost == 0
    assert duplicated == 0
    assert out_of_order == []
    assert phantom == 0
    assert reconnects > 0
    assert tasks_after == tasks_before
    # Flat: the SDK keeps O(1) per conversation (no id window), plus 1 MiB of slack.
    assert growth < 1024 * 1024


async def _run_session(
    user: str, provider: Any, base_url: str, *, task_status: TaskStatus[Signaling]
) -> None:
    async with open_signaling(
        app_id="app_test",
        user_id=user,
        session_provider=provider,
        base_url=base_url,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        request_timeout=5.0,
        connect_timeout=30.0,
        backoff_cap=2.0,
    ) as sig:
        task_status.started(sig)
        await anyio.sleep_forever()


def _sdk_memory() -> tuple[int, list[str]]:
    """Bytes traced outside ``NOT_SDK`` and still allocated, and the five biggest places.

    Garbage is collected first: objects in reference cycles that the collector has not
    reached yet (old connections' parsers, say) are not retained memory.
    """
    gc.collect()
    stats = tracemalloc.take_snapshot().filter_traces(NOT_SDK).statistics("lineno")
    return sum(stat.size for stat in stats), [str(stat) for stat in stats[:5]]


async def _start_tracing(until: float) -> None:
    """Trace allocations from the end of the first round on (caches warm, sessions settled):
    whatever of them is still alive at the end is growth."""
    await anyio.sleep(min(ROUND, max(until - anyio.current_time(), 0.01)))
    tracemalloc.start(TRACE_DEPTH)
