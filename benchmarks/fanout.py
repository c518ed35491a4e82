"""Fan-out: one group of 200 members, time from a send to the last member's MessageReceived.

The reference engine runs in a separate process (``_engine_server.py``, its project's
``max_group_members`` raised to fit). This process holds, on one Trio loop:

- ``sdk``: 200 ``open_signaling`` sessions (distinct users) sharing one ``httpx.AsyncClient``,
  each reading ``sig.events(MessageReceived)``, all members of group A;
- ``bare`` (the baseline): 200 bare trio-websocket clients (default settings, minted through
  the same shared HTTP client) doing ``get_message()`` + ``json.loads`` on every frame and
  matching ``message.new``, all members of group B (they send a ``ping`` every few seconds so
  the engine's idle timeout leaves them alone, as the SDK's heartbeat does);
- ``one``: a single ``open_signaling`` member of group C (the 1-member delivery time);
- the sender: one more ``open_signaling`` session, owner of the three groups.

Each round the sender does ``send_message(group_id=...)`` to each group in turn (order
alternating between rounds, one send in flight at a time). The time of a send is taken just
before ``send_message``; each member notes when the message reaches it; the figure is the
last member's arrival minus the send time. Same sender, same engine path, same process for
the SDK and the bare receivers: the ratio SDK/bare is the receive side's cost at fan-out.

Figures: median and p99 of send → last member, for each group; median of send → first
member; ratios SDK/bare (median, p99) and 200 members / 1 member (SDK). Notes: the sender's
``send_message`` ack latency, and the CPU of this process and of the engine during the rounds.

    uv run python -m benchmarks.fanout [--smoke] [--members 200] [--sends 200]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import trio
import trio_websocket

from utd_trio import MessageReceived, Signaling, UTDApi, open_signaling
from utd_trio._protocol._urls import ws_url_with_token

from ._common import Result, cpu_seconds, median, percentile, raise_fd_limit, server_process

TIME_CAP = 240.0  # the whole benchmark, engine start and connects included
SEND_WINDOW = 120.0  # the send rounds stop early (and say so) past this
CONNECT_CAP = 90.0  # every member connected, or the benchmark reports what it got
DELIVERY_TIMEOUT = 10.0  # per send: the last member must have it by then
OPEN_CONCURRENCY = 32
PING_EVERY = 10.0  # bare clients; the engine closes a socket silent for 2 × heartbeat
GAP = 0.01  # idle time between sends
TEXT = "Standup moved to 10:30 today; the release notes are in the usual doc, please skim."


class Arrivals:
    """Arrival times of the current marker at the members of one group."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.marker = ""
        self.times: list[float] = []
        self.done = trio.Event()

    def arm(self, marker: str) -> None:
        self.marker = marker
        self.times = []
        self.done = trio.Event()

    def hit(self, text: object) -> None:
        if text == self.marker:
            self.times.append(time.perf_counter())
            if len(self.times) >= self.expected:
                self.done.set()


class Members:
    """Counts members ready to receive; `all_ready` once every one is (or has failed)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.ready = 0
        self.failures: list[str] = []
        self.all_ready = trio.Event()

    def _check(self) -> None:
        if self.ready + len(self.failures) >= self.expected:
            self.all_ready.set()

    def up(self) -> None:
        self.ready += 1
        self._check()

    def failed(self, exc: BaseException) -> None:
        self.failures.append(repr(exc)[:200])
        self._check()


async def measure(info: dict[str, Any], members: int, sends: int) -> dict[str, Any]:
    raise_fd_limit(4 * members + 512)
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    ids = {
        "sdk": [f"fan_sdk_{i:04d}" for i in range(members)],
        "bare": [f"fan_bare_{i:04d}" for i in range(members)],
        "one": ["fan_one"],
    }
    arrivals = {name: Arrivals(len(users)) for name, users in ids.items()}
    ready = Members(sum(len(users) for users in ids.values()))
    gate = trio.Semaphore(OPEN_CONCURRENCY)
    out: dict[str, Any] = {key: {k: [] for k in ids} for key in ("first", "last", "ack")}
    out["missed"] = {k: 0 for k in ids}

    async with httpx.AsyncClient() as http, UTDApi(**creds, http_client=http) as api:

        async def sdk_member(user: str, arr: Arrivals) -> None:
            await gate.acquire()
            held = True
            try:
                async with open_signaling(user_id=user, **creds, http_client=http) as sig:
                    stream = sig.events(MessageReceived)
                    gate.release()
                    held = False
                    ready.up()
                    async for ev in stream:
                        if isinstance(ev, MessageReceived):
                            arr.hit(ev.message.text)
            except Exception as exc:
                ready.failed(exc)
            finally:
                if held:
                    gate.release()

        async def bare_member(user: str, arr: Arrivals) -> None:
            await gate.acquire()
            held = True
            try:
                session = await api.mint_session(user)
                url = ws_url_with_token(session.ws_url, session.user_token)
                async with (
                    trio_websocket.open_websocket_url(url) as ws,
                    trio.open_nursery() as nursery,
                ):
                    await ws.get_message()  # hello
                    gate.release()
                    held = False
                    ready.up()
                    nursery.start_soon(_pinger, ws)
                    while True:
                        frame = json.loads(await ws.get_message())
                        if frame.get("event") == "message.new":
                            arr.hit(frame.get("data", {}).get("text"))
            except Exception as exc:
                ready.failed(exc)
            finally:
                if held:
                    gate.release()

        async with (
            open_signaling(user_id="fan_sender", **creds, http_client=http) as sender,
            trio.open_nursery() as nursery,
        ):
            t0 = time.perf_counter()
            for name, users in ids.items():
                member = bare_member if name == "bare" else sdk_member
                for user in users:
                    nursery.start_soon(member, user, arrivals[name])
            with trio.move_on_after(CONNECT_CAP):
                await ready.all_ready.wait()
            out["connect_seconds"] = time.perf_counter() - t0
            out["ready"] = ready.ready
            out["failures"] = ready.failures[:5]
            groups = {
                name: (await sender.create_group(f"fanout-{name}", users)).group_id
                for name, users in ids.items()
            }
            cpu0, engine0, w0 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
            out["rounds"] = await run_rounds(
                list(groups),
                lambda name, tag: _one_send(sender, groups[name], arrivals[name], tag),
                sends,
                out,
            )
            wall = time.perf_counter() - w0
            out["cpu_pct"] = 100 * (cpu_seconds() - cpu0) / wall
            out["engine_cpu_pct"] = 100 * (cpu_seconds(info["pid"]) - engine0) / wall
            out["rounds_seconds"] = wall
            nursery.cancel_scope.cancel()
    return out


async def _pinger(ws: trio_websocket.WebSocketConnection) -> None:
    for i in range(10_000):
        await trio.sleep(PING_EVERY)
        await ws.send_message(json.dumps({"event": "ping", "ref": f"p{i}"}))


Trip = tuple[float, float, list[float] | None]
"""One send: when it left, when it was acked, and each receiver's arrival (None: missed)."""


async def run_rounds(
    names: list[str],
    one: Callable[[str, str], Awaitable[Trip]],
    sends: int,
    out: dict[str, Any],
) -> int:
    """A warm-up round, then up to ``sends`` rounds of ``one(name, tag)`` per name.

    The order alternates between rounds; rounds stop past `SEND_WINDOW`. Ack times, first
    and last arrivals and misses are appended to ``out`` per name. Returns the rounds done.
    """
    order = list(names)
    deadline = trio.current_time() + SEND_WINDOW
    for name in order:  # warm-up round, not counted
        await one(name, f"warm {name}")
    done = 0
    for k in range(sends):
        if trio.current_time() > deadline:
            break
        for name in order:
            sent, acked, times = await one(name, f"#{k} {name}")
            out["ack"][name].append(acked - sent)
            if times is None:
                out["missed"][name] += 1
            else:
                out["first"][name].append(min(times) - sent)
                out["last"][name].append(max(times) - sent)
        order.reverse()
        done += 1
    return done


async def _one_send(
    sender: Signaling, group_id: str, arr: Arrivals, tag: str
) -> tuple[float, float, list[float] | None]:
    marker = f"{tag}: {TEXT}"
    arr.arm(marker)
    await trio.sleep(GAP)
    sent = time.perf_counter()
    await sender.send_message(group_id=group_id, text=marker)
    acked = time.perf_counter()
    with trio.move_on_after(DELIVERY_TIMEOUT):
        await arr.done.wait()
    return sent, acked, (list(arr.times) if arr.done.is_set() else None)


async def run(
    *, smoke: bool = False, members: int | None = None, sends: int | None = None
) -> Result:
    members = members or (5 if smoke else 200)
    sends = sends or (3 if smoke else 200)
    command = "uv run python -m benchmarks.fanout" + (" --smoke" if smoke else "")
    result = Result(f"Fan-out to a {members}-member group (#7.5)", command)
    args = ("--max-group-members", str(members + 1))  # the sender owns the group
    with trio.fail_after(TIME_CAP):
        async with server_process("_engine_server", *args) as info:
            out = await measure(info, members, sends)
    ms = {k: [s * 1e3 for s in v] for k, v in out["last"].items()}
    if not all(ms.values()):
        result.notes.append(f"NOT MEASURED: no complete delivery in some group: {out}")
        return result
    med = {k: median(v) for k, v in ms.items()}
    p99 = {k: percentile(v, 99) for k, v in ms.items()}
    ack = {k: median([s * 1e3 for s in v]) for k, v in out["ack"].items()}
    first = {k: median([s * 1e3 for s in v]) for k, v in out["first"].items()}
    result.add(f"SDK, {members} members: send → last MessageReceived, median", med["sdk"], "ms")
    result.add(f"SDK, {members} members: send → last MessageReceived, p99", p99["sdk"], "ms")
    result.add(f"bare, {members} members: send → last message.new, median", med["bare"], "ms")
    result.add(f"bare, {members} members: send → last message.new, p99", p99["bare"], "ms")
    result.add(f"SDK, {members} members: send → first MessageReceived, median", first["sdk"], "ms")
    result.add(f"bare, {members} members: send → first message.new, median", first["bare"], "ms")
    result.add("SDK, 1 member: send → MessageReceived, median", med["one"], "ms")
    result.add("SDK, 1 member: send → MessageReceived, p99", p99["one"], "ms")
    result.add("SDK / bare, median", med["sdk"] / med["bare"], "x")
    result.add("SDK / bare, p99", p99["sdk"] / p99["bare"], "x")
    result.add(f"SDK {members} members / SDK 1 member, median", med["sdk"] / med["one"], "x")
    rounds = out["rounds"]
    result.notes.append(
        f"{rounds} rounds of one send per group (of {sends} asked; the rounds stop after "
        f"{SEND_WINDOW:g} s), after one warm-up round; order alternating between rounds. "
        f"Members ready {out['ready']}/{2 * members + 1} in {out['connect_seconds']:.1f} s"
        + (f", failures: {out['failures']}" if out["failures"] else "")
        + "; sends whose last member had not got the message within "
        f"{DELIVERY_TIMEOUT:g} s: {out['missed']}."
    )
    result.notes.append(
        f"sender's send_message ack, median: {ack['sdk']:.2f} ms (to the SDK group), "
        f"{ack['bare']:.2f} ms (to the bare group), {ack['one']:.2f} ms (1 member): the engine "
        "queues every member's frame before it acks."
    )
    result.notes.append(
        f"CPU during the {out['rounds_seconds']:.1f} s of rounds: this process (sender and "
        f"all members) {out['cpu_pct']:.0f} % of a core, engine {out['engine_cpu_pct']:.0f} % "
        "of a core."
    )
    result.notes.append(
        "One process holds the sender, the SDK members (one shared httpx.AsyncClient) and the "
        "bare trio-websocket members, on one Trio loop; the engine (hypercorn + starlette) is "
        "a separate process; 2 shared cores. Time = last member's arrival − just before "
        "send_message."
    )
    result.raw = {
        "median_ms": med,
        "p99_ms": p99,
        "first_median_ms": first,
        "ack_median_ms": ack,
        "rounds": rounds,
        "cpu_pct": out["cpu_pct"],
        "engine_cpu_pct": out["engine_cpu_pct"],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--members", type=int)
    parser.add_argument("--sends", type=int)
    args = parser.parse_args()
    trio.run(lambda: _print(run(smoke=args.smoke, members=args.members, sends=args.sends)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
