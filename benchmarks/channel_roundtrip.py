"""Client-event trip between two sessions vs the chat message trip, on the same sessions.

The reference engine runs in a separate process (``_engine_server.py``). Two
``open_signaling`` sessions, A and B, in this process, both in
``sig.subscribe_channel("private-bench-rt")`` (private: client events need a grant; the
development grant endpoint signs it). Two kinds of trip, from one session to the other:

- ``client event``: ``await ch.trigger("client-bench", {"tag", "text"})`` → the other
  session's ``ChannelEvent`` on ``ch.events()``;
- ``chat``: ``await sig.send_message(to=<other>, text=...)`` → the other session's
  ``MessageReceived`` on ``sig.events(MessageReceived)`` (the engine stores the message, then
  fans it out; the §6 path).

Both carry the same 66-character text and a tag. The time of a trip is taken just before the
call; the receiver notes when the event reaches it; the sender's call must also have returned
(its ack) before the next trip starts. Rounds interleave the two kinds (order reversed every
round) and alternate the direction (A→B, B→A).

The engine takes at most 10 client events per second per socket (the SDK waits for room
rather than fail): the rounds are paced at one every ``PERIOD`` (1/16 s), and as the direction
alternates each socket triggers at 8/s, so the SDK's limiter never has to wait (the notes
report the slowest trigger ack, which would show a wait of ~100 ms).

Figures: median and p99 of each trip; ratio client event / chat (median, p99).

Other loops (issue 18: every benchmark has Trio and asyncio rows): the same measurement
(`measure`, written in anyio) in a worker process per loop (``_loop_worker.py call``:
``asyncio.run``, and ``uvloop.run`` where installed), both sessions on that loop, against the
same engine process, after the Trio run; each loop's figures carry its name as a prefix
(``asyncio: client event / chat, median``), the Trio figures none. Every loop's sessions are
users of their own (``chrt_a``/``chrt_b`` for Trio, ``chrt_asyncio_a``/... for the others).

    uv run python -m benchmarks.channel_roundtrip [--smoke] [--n 600] [--loops asyncio,uvloop]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import trio

from utd_trio import Channel, ChannelEvent, MessageReceived, Signaling, open_signaling

from ._common import Result, available_loops, call_on_loop, median, percentile, server_process
from .channel_fanout import _tag  # pyright: ignore[reportPrivateUsage]

TIME_CAP = 150.0  # the whole benchmark, per loop
ROUND_WINDOW = 90.0  # the rounds stop early (and say so) past this
DELIVERY_TIMEOUT = 5.0  # per trip
PERIOD = 1 / 16  # one round (one trip of each kind) per PERIOD; each socket triggers at 8/s
CHANNEL = "private-bench-rt"
EVENT = "client-bench"
TEXT = "Hey Bob, the build is green again; merging the release branch now."
KINDS = ("client event", "chat")


class Inbox:
    """The arrival time of the current tag at one session."""

    def __init__(self) -> None:
        self.tag = ""
        self.at = 0.0
        self.got = anyio.Event()

    def arm(self, tag: str) -> None:
        self.tag = tag
        self.got = anyio.Event()

    def hit(self, tag: object) -> None:
        if tag == self.tag and not self.got.is_set():
            self.at = time.perf_counter()
            self.got.set()


class Peer:
    """One session with its channel, and where its arrivals are noted."""

    def __init__(self, user: str, sig: Signaling, ch: Channel) -> None:
        self.user = user
        self.sig = sig
        self.ch = ch
        self.inbox = Inbox()

    async def read_channel(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        stream = self.ch.events()
        task_status.started()
        async for ev in stream:
            if isinstance(ev, ChannelEvent):
                self.inbox.hit(_tag(ev.data))

    async def read_chat(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        stream = self.sig.events(MessageReceived)
        task_status.started()
        async for ev in stream:
            if isinstance(ev, MessageReceived):
                text = ev.message.text or ""
                self.inbox.hit(text.split(": ", 1)[0])


async def measure(info: dict[str, Any], n: int, users: str = "chrt") -> dict[str, Any]:
    """``n`` paced rounds between sessions ``{users}_a`` and ``{users}_b``, on the running loop
    (Trio, or asyncio in a loop worker): JSON in (the engine's info line), JSON out."""
    user_a, user_b = f"{users}_a", f"{users}_b"
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    out: dict[str, Any] = {
        "trip": {k: [] for k in KINDS},
        "call": {k: [] for k in KINDS},
        "missed": {k: 0 for k in KINDS},
    }
    async with (
        open_signaling(user_id=user_a, **creds) as sig_a,
        open_signaling(user_id=user_b, **creds) as sig_b,
        sig_a.subscribe_channel(CHANNEL) as ch_a,
        sig_b.subscribe_channel(CHANNEL) as ch_b,
        anyio.create_task_group() as tg,
    ):
        a, b = Peer(user_a, sig_a, ch_a), Peer(user_b, sig_b, ch_b)
        for peer in (a, b):
            await tg.start(peer.read_channel)
            await tg.start(peer.read_chat)

        def trip(kind: str, src: Peer, dst: Peer) -> Callable[[str], Awaitable[None]]:
            if kind == "client event":
                return lambda tag: src.ch.trigger(EVENT, {"tag": tag, "text": TEXT})

            async def send(tag: str) -> None:
                await src.sig.send_message(to=dst.user, text=f"{tag}: {TEXT}")

            return send

        async def one(kind: str, src: Peer, dst: Peer, tag: str) -> tuple[float, float] | None:
            dst.inbox.arm(tag)
            start = time.perf_counter()
            await trip(kind, src, dst)(tag)
            returned = time.perf_counter()
            with anyio.move_on_after(DELIVERY_TIMEOUT):
                await dst.inbox.got.wait()
            if not dst.inbox.got.is_set():
                return None
            return dst.inbox.at - start, returned - start

        order = list(KINDS)
        for k in range(4):  # warm-up, paced like the rounds, not counted
            for kind in order:
                src, dst = (a, b) if k % 2 == 0 else (b, a)
                await one(kind, src, dst, f"warm{k}")
            await anyio.sleep(PERIOD)
        t0 = anyio.current_time()
        deadline = t0 + ROUND_WINDOW
        done = 0
        for k in range(n):
            if anyio.current_time() > deadline:
                break
            src, dst = (a, b) if k % 2 == 0 else (b, a)
            for kind in order:
                got = await one(kind, src, dst, f"r{k}")
                if got is None:
                    out["missed"][kind] += 1
                else:
                    out["trip"][kind].append(got[0])
                    out["call"][kind].append(got[1])
            order.reverse()
            done += 1
            await anyio.sleep_until(t0 + (k + 1) * PERIOD)
        out["rounds"] = done
        out["rounds_seconds"] = anyio.current_time() - t0
        tg.cancel_scope.cancel()
    return out


async def run(
    *, smoke: bool = False, n: int | None = None, loops: tuple[str, ...] | None = None
) -> Result:
    n = n or (6 if smoke else 600)
    loops = available_loops() if loops is None else loops
    command = "uv run python -m benchmarks.channel_roundtrip" + (" --smoke" if smoke else "")
    result = Result("Client-event trip vs chat message trip (issue 16)", command)
    per_loop: dict[str, dict[str, Any]] = {}
    with trio.fail_after(TIME_CAP * (1 + len(loops))):
        async with server_process("_engine_server") as info:
            per_loop["trio"] = await measure(info, n)
            for loop in loops:
                if not smoke:
                    print(f"channel_roundtrip: {loop} ...", file=sys.stderr)
                kwargs = {"info": info, "n": n, "users": f"chrt_{loop}"}
                function = "benchmarks.channel_roundtrip:measure"
                per_loop[loop] = await call_on_loop(loop, function, **kwargs)
    result.raw = {}
    for loop, out in per_loop.items():
        raw = _add_figures(result, out, "" if loop == "trio" else f"{loop}: ", n)
        if raw is not None:
            result.raw[loop] = raw
    result.raw["rounds"] = per_loop["trio"]["rounds"]  # the Trio run's, as before issue 18
    result.notes.append(
        "Both sessions in one process on one loop (Trio in this process; each other loop in "
        f"a worker process of its own), each on `{CHANNEL}` (development grants); the engine "
        "(hypercorn + starlette, on Trio) is a separate process, the same one for every "
        f"loop; 2 shared cores. Payloads: the same {len(TEXT)}-character text and a tag "
        '(client event data `{"tag", "text"}`, chat `text`). Time = the receiver\'s arrival '
        "− just before the call."
    )
    if loops:
        result.notes.append(
            "Other loops: "
            + ", ".join(f"`{loop}`" for loop in loops)
            + ": a worker process each (`benchmarks/_loop_worker.py call`), both sessions on "
            "that loop, run after the Trio figures; their figures are prefixed with the loop."
        )
    return result


def _add_figures(result: Result, out: dict[str, Any], prefix: str, n: int) -> dict[str, Any] | None:
    """One loop's figures and notes (``prefix``: ``""`` for Trio); its raw summary."""
    us = {k: [s * 1e6 for s in v] for k, v in out["trip"].items()}
    if not all(us.values()):
        result.notes.append(f"{prefix}NOT MEASURED: no trip completed for some kind: {out}")
        return None
    med = {k: median(v) for k, v in us.items()}
    p99 = {k: percentile(v, 99) for k, v in us.items()}
    call_med = {k: median(v) * 1e6 for k, v in out["call"].items()}
    call_max = {k: max(v) * 1e3 for k, v in out["call"].items()}
    ce, chat = "client event", "chat"
    trigger, send = "trigger → other session's ChannelEvent", "send_message → other session's"
    result.add(f"{prefix}client event: {trigger}, median", med[ce], "µs")
    result.add(f"{prefix}client event: {trigger}, p99", p99[ce], "µs")
    result.add(f"{prefix}chat: {send} MessageReceived, median", med[chat], "µs")
    result.add(f"{prefix}chat: {send} MessageReceived, p99", p99[chat], "µs")
    result.add(f"{prefix}client event / chat, median", med[ce] / med[chat], "x")
    result.add(f"{prefix}client event / chat, p99", p99[ce] / p99[chat], "x")
    rounds = out["rounds"]
    result.notes.append(
        f"{prefix}{rounds} rounds (of {n} asked; they stop after {ROUND_WINDOW:g} s) in "
        f"{out['rounds_seconds']:.1f} s, each one trip of each kind, order reversed every "
        "round, direction alternating A→B / B→A, after 4 warm-up rounds; trips not "
        f"delivered within {DELIVERY_TIMEOUT:g} s: {out['missed']}."
    )
    result.notes.append(
        f"{prefix}Pacing for the 10 client events/s/socket window: one round per "
        f"{PERIOD * 1e3:g} ms, so each socket triggers at ≤ 8/s and the SDK's limiter never "
        f"waits: slowest trigger ack {call_max[ce]:.1f} ms (a wait would add ~100 ms). "
        f"Sender's call (ack), median: trigger {call_med[ce]:.0f} µs, send_message "
        f"{call_med[chat]:.0f} µs."
    )
    return {
        "median_us": med,
        "p99_us": p99,
        "call_median_us": call_med,
        "call_max_ms": call_max,
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--n", type=int)
    parser.add_argument(
        "--loops",
        help="other loops, comma-separated (default: asyncio, and uvloop where installed; "
        "'' for none)",
    )
    args = parser.parse_args()
    loops = None if args.loops is None else tuple(x for x in args.loops.split(",") if x)
    trio.run(lambda: _print(run(smoke=args.smoke, n=args.n, loops=loops)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
