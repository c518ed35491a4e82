"""Channel fan-out: one backend broadcast → the last of 200 subscribers of a public channel.

Same setup and method as ``fanout.py`` (the group fan-out). The reference engine runs in a
separate process (``_engine_server.py``). This process holds, on one Trio loop:

- ``sdk``: 200 ``open_signaling`` sessions (distinct users) sharing one ``httpx.AsyncClient``,
  each in ``sig.subscribe_channel("bench-fan-sdk")`` reading ``ch.events()``;
- ``bare`` (the baseline): 200 bare trio-websocket clients (default settings, minted through
  the same shared HTTP client) that send the raw ``channel.subscribe`` frame for
  ``bench-fan-bare``, wait for its ack, then do ``get_message()`` + ``json.loads`` on every
  frame and match ``channel.event`` (a ``ping`` every few seconds keeps the engine's idle
  timeout away, as the SDK's heartbeat does);
- ``one``: a single ``open_signaling`` subscriber of ``bench-fan-one`` (the 1-subscriber time);
- the backend: a ``UTDApi(app_secret=...)`` with its own HTTP client, calling
  ``api.broadcast(channel, "bench", data)`` (``POST /api/v1/channels/events``).

Each round the backend broadcasts to each channel in turn (order alternating between rounds,
one broadcast in flight at a time). The time of a broadcast is taken just before
``api.broadcast``; each subscriber notes when the event reaches it; the figure is the last
subscriber's arrival minus the broadcast time. Same backend, same engine path, same process
for the SDK and the bare subscribers: the ratio SDK/bare is the receive side's cost.

Other loops (issue 18: every benchmark has Trio and asyncio rows): the same measurement
(`measure`, written in anyio) in a worker process per loop (``_loop_worker.py call``:
``asyncio.run``, and ``uvloop.run`` where installed), after the Trio run, against the same
engine process, on channels of their own (``bench-fan-asyncio-sdk`` ...). There the backend,
the SDK subscribers and the 1-subscriber channel run on that loop, and the bare baseline is
``websockets`` (``websockets.asyncio.client``: no compression, no keepalive pings; the same
raw ``channel.subscribe``, then ``recv()`` + ``json.loads``), the usual bare asyncio client.
Their rows are prefixed ``asyncio: ``, ``uvloop: ``; the unprefixed rows are Trio's.

Figures, per loop: median and p99 of broadcast → last subscriber for each channel; median of
broadcast → first; ratios SDK/bare (median, p99; target ≤ 1.1× on each loop) and 200 / 1
subscriber (SDK). Notes: the broadcast's HTTP response time, and the CPU of the subscribers'
process and of the engine.

    uv run python -m benchmarks.channel_fanout [--smoke] [--members 200] [--sends 200]
        [--loops asyncio,uvloop]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable
from typing import Any

import anyio
import httpx
import trio

from utd_trio import ChannelEvent, UTDApi, open_signaling
from utd_trio.testing import DEFAULT_PROJECT

from ._common import (
    Result,
    available_loops,
    cpu_seconds,
    median,
    percentile,
    raise_fd_limit,
    server_process,
)
from ._fanout_members import (
    SEND_WINDOW,
    Arrivals,
    Members,
    Trip,
    bare_client,
    loops_note,
    measure_on_loops,
    prefix,
    run_rounds,
)

TIME_CAP = 240.0  # one loop's run, engine start and connects included
CONNECT_CAP = 90.0  # every subscriber ready, or the benchmark reports what it got
DELIVERY_TIMEOUT = 10.0  # per broadcast: the last subscriber must have it by then
GAP = 0.01  # idle time between broadcasts
TARGET = 1.1  # SDK / bare, median
EVENT = "bench"
TEXT = "Standup moved to 10:30 today; the release notes are in the usual doc, please skim."
KINDS = ("sdk", "bare", "one")


def channels(loop: str) -> dict[str, str]:
    """The channel of each kind for ``loop``'s run (Trio's: ``bench-fan-sdk`` ...)."""
    own = "" if loop == "trio" else f"{loop}-"
    return {kind: f"bench-fan-{own}{kind}" for kind in KINDS}


def _tag(data: object) -> object:
    return data.get("tag") if isinstance(data, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


async def measure(
    info: dict[str, Any], members: int, sends: int, loop_name: str = "trio"
) -> dict[str, Any]:
    """The rounds against the engine ``info`` describes, on the running loop (any of them).

    ``loop_name`` names the users and channels (Trio's keep the names they always had); the result
    is JSON (`_loop_worker.py call` sends it back from a worker).
    """
    raise_fd_limit(4 * members + 512)
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    secret = info.get("app_secret", DEFAULT_PROJECT.app_secret)
    own = "" if loop_name == "trio" else f"{loop_name}_"
    ids = {
        "sdk": [f"chfan_{own}sdk_{i:04d}" for i in range(members)],
        "bare": [f"chfan_{own}bare_{i:04d}" for i in range(members)],
        "one": [f"chfan_{own}one"],
    }
    chans = channels(loop_name)
    arrivals = {name: Arrivals(len(users)) for name, users in ids.items()}
    ready = Members(sum(len(users) for users in ids.values()))
    out: dict[str, Any] = {key: {k: [] for k in ids} for key in ("first", "last", "ack")}
    out["missed"] = {k: 0 for k in ids}

    async with (
        httpx.AsyncClient() as http,
        UTDApi(**creds, http_client=http) as api,
        UTDApi(app_id=info["app_id"], app_secret=secret, base_url=info["base_url"]) as backend,
    ):

        async def sdk_member(user: str, channel: str, arr: Arrivals) -> None:
            async with (
                ready.joining() as joined,
                open_signaling(user_id=user, **creds, http_client=http) as sig,
                sig.subscribe_channel(channel) as ch,
            ):
                stream = ch.events()
                joined()
                async for ev in stream:
                    if isinstance(ev, ChannelEvent):
                        arr.hit(_tag(ev.data))

        async def bare_member(user: str, channel: str, arr: Arrivals) -> None:
            async with ready.joining() as joined, bare_client(api, user) as (receive, send):
                subscribe = {"event": "channel.subscribe", "data": {"channel": channel}}
                await send(json.dumps({**subscribe, "ref": "r1"}))
                while True:
                    frame = json.loads(await receive())
                    if frame.get("ref") == "r1":
                        if frame.get("event") != "ack":
                            raise RuntimeError(f"subscribe refused: {frame}")
                        break
                joined()
                while True:
                    frame = json.loads(await receive())
                    if frame.get("event") == "channel.event":
                        arr.hit(_tag(frame.get("data", {}).get("data")))

        async with anyio.create_task_group() as tg:
            t0 = time.perf_counter()
            for name, users in ids.items():
                member = bare_member if name == "bare" else sdk_member
                for user in users:
                    tg.start_soon(member, user, chans[name], arrivals[name])
            with anyio.move_on_after(CONNECT_CAP):
                await ready.all_ready.wait()
            out["connect_seconds"] = time.perf_counter() - t0
            out["ready"] = ready.ready
            out["failures"] = ready.failures[:5]
            occupancy = await backend.channels(prefix="bench-fan-")
            out["occupancy"] = {
                name: occupancy.get(name, {}).get("subscription_count", 0)
                for name in chans.values()
            }
            cpu0, engine0, w0 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
            out["rounds"] = await run_rounds(
                list(chans),
                lambda name, tag: _one_broadcast(backend, chans[name], arrivals[name], tag),
                sends,
                out,
            )
            wall = time.perf_counter() - w0
            out["cpu_pct"] = 100 * (cpu_seconds() - cpu0) / wall
            out["engine_cpu_pct"] = 100 * (cpu_seconds(info["pid"]) - engine0) / wall
            out["rounds_seconds"] = wall
            tg.cancel_scope.cancel()
    return out


async def _one_broadcast(backend: UTDApi, channel: str, arr: Arrivals, tag: str) -> Trip:
    arr.arm(tag)
    await anyio.sleep(GAP)
    sent = time.perf_counter()
    await backend.broadcast(channel, EVENT, {"tag": tag, "text": TEXT})
    acked = time.perf_counter()
    return sent, acked, await arr.wait(DELIVERY_TIMEOUT)


async def run(
    *,
    smoke: bool = False,
    members: int | None = None,
    sends: int | None = None,
    loops: tuple[str, ...] | None = None,
) -> Result:
    members = members or (5 if smoke else 200)
    sends = sends or (3 if smoke else 200)
    loops = available_loops() if loops is None else loops
    command = "uv run python -m benchmarks.channel_fanout" + (" --smoke" if smoke else "")
    result = Result(f"Channel fan-out to {members} subscribers (issue 16)", command)
    cap = TIME_CAP * (1 + len(loops))
    with trio.fail_after(cap):
        async with server_process("_engine_server", "--max-seconds", str(cap + 60)) as info:
            per_loop = await measure_on_loops(
                "benchmarks.channel_fanout:measure",
                measure,
                loops,
                smoke,
                info=info,
                members=members,
                sends=sends,
            )
    for loop, out in per_loop.items():
        raw = _add_figures(result, out, prefix(loop), members, sends, smoke)
        if loop == "trio":
            result.raw.update(raw)
        else:
            result.raw[loop] = raw
    result.notes.append(
        "Trio rows: one process holds the backend (`UTDApi` with the server secret, its own "
        "HTTP client), the SDK subscribers (one shared httpx.AsyncClient) and the bare "
        "trio-websocket subscribers, on one Trio loop; the engine (hypercorn + starlette) is "
        "a separate process; 2 shared cores. Event data ≈ 110 B of JSON. Time = last "
        "subscriber's arrival − just before `api.broadcast`."
    )
    if loops:
        result.notes.append(loops_note(loops, "users and channels"))
    return result


def _add_figures(
    result: Result, out: dict[str, Any], pre: str, members: int, sends: int, smoke: bool
) -> dict[str, Any]:
    """One loop's rows and notes (labels prefixed ``pre``); its raw figures."""
    ms = {k: [s * 1e3 for s in v] for k, v in out["last"].items()}
    if not all(ms.values()):
        result.notes.append(f"{pre}NOT MEASURED: no complete delivery on some channel: {out}")
        return {"rounds": out["rounds"], "missed": out["missed"]}
    med = {k: median(v) for k, v in ms.items()}
    p99 = {k: percentile(v, 99) for k, v in ms.items()}
    ack = {k: median([s * 1e3 for s in v]) for k, v in out["ack"].items()}
    first = {k: median([s * 1e3 for s in v]) for k, v in out["first"].items()}
    n = members
    sdk = f"{pre}SDK, {n} subscribers: broadcast →"
    bare = f"{pre}bare, {n} subscribers: broadcast →"
    result.add(f"{sdk} last ChannelEvent, median", med["sdk"], "ms")
    result.add(f"{sdk} last ChannelEvent, p99", p99["sdk"], "ms")
    result.add(f"{bare} last channel.event, median", med["bare"], "ms")
    result.add(f"{bare} last channel.event, p99", p99["bare"], "ms")
    result.add(f"{sdk} first ChannelEvent, median", first["sdk"], "ms")
    result.add(f"{bare} first channel.event, median", first["bare"], "ms")
    result.add(f"{pre}SDK, 1 subscriber: broadcast → ChannelEvent, median", med["one"], "ms")
    result.add(f"{pre}SDK, 1 subscriber: broadcast → ChannelEvent, p99", p99["one"], "ms")
    ratio = med["sdk"] / med["bare"]
    ok = None if smoke else ratio <= TARGET
    result.add(f"{pre}SDK / bare, median", ratio, "x", f"≤ {TARGET}×", ok)
    result.add(f"{pre}SDK / bare, p99", p99["sdk"] / p99["bare"], "x")
    result.add(f"{pre}SDK {n} subscribers / SDK 1 subscriber, median", med["sdk"] / med["one"], "x")
    rounds = out["rounds"]
    result.notes.append(
        f"{pre}{rounds} rounds of one broadcast per channel (of {sends} asked; the rounds stop "
        f"after {SEND_WINDOW:g} s), after one warm-up round; order alternating between rounds. "
        f"Subscribers ready {out['ready']}/{2 * n + 1} in {out['connect_seconds']:.1f} s"
        + (f", failures: {out['failures']}" if out["failures"] else "")
        + f"; engine's subscription counts {out['occupancy']}; broadcasts whose last "
        f"subscriber had not got the event within {DELIVERY_TIMEOUT:g} s: {out['missed']}."
    )
    result.notes.append(
        f"{pre}backend's broadcast HTTP response, median: {ack['sdk']:.2f} ms (to the SDK "
        f"channel), {ack['bare']:.2f} ms (to the bare channel), {ack['one']:.2f} ms "
        "(1 subscriber): the engine queues every subscriber's frame before it answers."
    )
    result.notes.append(
        f"{pre}CPU during the {out['rounds_seconds']:.1f} s of rounds: the subscribers' "
        f"process (backend and all subscribers) {out['cpu_pct']:.0f} % of a core, engine "
        f"{out['engine_cpu_pct']:.0f} % of a core."
    )
    return {
        "median_ms": med,
        "p99_ms": p99,
        "first_median_ms": first,
        "ack_median_ms": ack,
        "rounds": rounds,
        "cpu_pct": out["cpu_pct"],
        "engine_cpu_pct": out["engine_cpu_pct"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--members", type=int)
    parser.add_argument("--sends", type=int)
    parser.add_argument(
        "--loops",
        help="other loops, comma-separated (default: asyncio, and uvloop where installed; "
        "'' for none)",
    )
    args = parser.parse_args()
    loops = None if args.loops is None else tuple(x for x in args.loops.split(",") if x)
    trio.run(
        lambda: _print(run(smoke=args.smoke, members=args.members, sends=args.sends, loops=loops))
    )


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
