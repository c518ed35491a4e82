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

Figures: median and p99 of broadcast → last subscriber for each channel; median of
broadcast → first; ratios SDK/bare (median, p99) and 200 / 1 subscriber (SDK). Notes: the
broadcast's HTTP response time, and the CPU of this process and of the engine.

    uv run python -m benchmarks.channel_fanout [--smoke] [--members 200] [--sends 200]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable
from typing import Any

import httpx
import trio
import trio_websocket

from utd_trio import ChannelEvent, UTDApi, open_signaling
from utd_trio._protocol._urls import ws_url_with_token
from utd_trio.testing import DEFAULT_PROJECT

from ._common import Result, cpu_seconds, median, percentile, raise_fd_limit, server_process
from .fanout import (  # pyright: ignore[reportPrivateUsage]
    SEND_WINDOW,
    Arrivals,
    Members,
    _pinger,
    run_rounds,
)

TIME_CAP = 240.0  # the whole benchmark, engine start and connects included
CONNECT_CAP = 90.0  # every subscriber ready, or the benchmark reports what it got
DELIVERY_TIMEOUT = 10.0  # per broadcast: the last subscriber must have it by then
OPEN_CONCURRENCY = 32
GAP = 0.01  # idle time between broadcasts
EVENT = "bench"
TEXT = "Standup moved to 10:30 today; the release notes are in the usual doc, please skim."
CHANNELS = {"sdk": "bench-fan-sdk", "bare": "bench-fan-bare", "one": "bench-fan-one"}


def _tag(data: object) -> object:
    return data.get("tag") if isinstance(data, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


async def measure(info: dict[str, Any], members: int, sends: int) -> dict[str, Any]:
    raise_fd_limit(4 * members + 512)
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    secret = info.get("app_secret", DEFAULT_PROJECT.app_secret)
    ids = {
        "sdk": [f"chfan_sdk_{i:04d}" for i in range(members)],
        "bare": [f"chfan_bare_{i:04d}" for i in range(members)],
        "one": ["chfan_one"],
    }
    arrivals = {name: Arrivals(len(users)) for name, users in ids.items()}
    ready = Members(sum(len(users) for users in ids.values()))
    gate = trio.Semaphore(OPEN_CONCURRENCY)
    out: dict[str, Any] = {key: {k: [] for k in ids} for key in ("first", "last", "ack")}
    out["missed"] = {k: 0 for k in ids}

    async with (
        httpx.AsyncClient() as http,
        UTDApi(**creds, http_client=http) as api,
        UTDApi(app_id=info["app_id"], app_secret=secret, base_url=info["base_url"]) as backend,
    ):

        async def sdk_member(user: str, channel: str, arr: Arrivals) -> None:
            await gate.acquire()
            held = True
            try:
                async with (
                    open_signaling(user_id=user, **creds, http_client=http) as sig,
                    sig.subscribe_channel(channel) as ch,
                ):
                    stream = ch.events()
                    gate.release()
                    held = False
                    ready.up()
                    async for ev in stream:
                        if isinstance(ev, ChannelEvent):
                            arr.hit(_tag(ev.data))
            except Exception as exc:
                ready.failed(exc)
            finally:
                if held:
                    gate.release()

        async def bare_member(user: str, channel: str, arr: Arrivals) -> None:
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
                    subscribe = {"event": "channel.subscribe", "data": {"channel": channel}}
                    await ws.send_message(json.dumps({**subscribe, "ref": "r1"}))
                    while True:
                        frame = json.loads(await ws.get_message())
                        if frame.get("ref") == "r1":
                            if frame.get("event") != "ack":
                                raise RuntimeError(f"subscribe refused: {frame}")
                            break
                    gate.release()
                    held = False
                    ready.up()
                    nursery.start_soon(_pinger, ws)
                    while True:
                        frame = json.loads(await ws.get_message())
                        if frame.get("event") == "channel.event":
                            arr.hit(_tag(frame.get("data", {}).get("data")))
            except Exception as exc:
                ready.failed(exc)
            finally:
                if held:
                    gate.release()

        async with trio.open_nursery() as nursery:
            t0 = time.perf_counter()
            for name, users in ids.items():
                member = bare_member if name == "bare" else sdk_member
                for user in users:
                    nursery.start_soon(member, user, CHANNELS[name], arrivals[name])
            with trio.move_on_after(CONNECT_CAP):
                await ready.all_ready.wait()
            out["connect_seconds"] = time.perf_counter() - t0
            out["ready"] = ready.ready
            out["failures"] = ready.failures[:5]
            out["occupancy"] = {
                name: stats.get("subscription_count", 0)
                for name, stats in (await backend.channels(prefix="bench-fan-")).items()
            }
            cpu0, engine0, w0 = cpu_seconds(), cpu_seconds(info["pid"]), time.perf_counter()
            out["rounds"] = await run_rounds(
                list(CHANNELS),
                lambda name, tag: _one_broadcast(backend, CHANNELS[name], arrivals[name], tag),
                sends,
                out,
            )
            wall = time.perf_counter() - w0
            out["cpu_pct"] = 100 * (cpu_seconds() - cpu0) / wall
            out["engine_cpu_pct"] = 100 * (cpu_seconds(info["pid"]) - engine0) / wall
            out["rounds_seconds"] = wall
            nursery.cancel_scope.cancel()
    return out


async def _one_broadcast(
    backend: UTDApi, channel: str, arr: Arrivals, tag: str
) -> tuple[float, float, list[float] | None]:
    arr.arm(tag)
    await trio.sleep(GAP)
    sent = time.perf_counter()
    await backend.broadcast(channel, EVENT, {"tag": tag, "text": TEXT})
    acked = time.perf_counter()
    with trio.move_on_after(DELIVERY_TIMEOUT):
        await arr.done.wait()
    return sent, acked, (list(arr.times) if arr.done.is_set() else None)


async def run(
    *, smoke: bool = False, members: int | None = None, sends: int | None = None
) -> Result:
    members = members or (5 if smoke else 200)
    sends = sends or (3 if smoke else 200)
    command = "uv run python -m benchmarks.channel_fanout" + (" --smoke" if smoke else "")
    result = Result(f"Channel fan-out to {members} subscribers (issue 16)", command)
    with trio.fail_after(TIME_CAP):
        async with server_process("_engine_server") as info:
            out = await measure(info, members, sends)
    ms = {k: [s * 1e3 for s in v] for k, v in out["last"].items()}
    if not all(ms.values()):
        result.notes.append(f"NOT MEASURED: no complete delivery on some channel: {out}")
        return result
    med = {k: median(v) for k, v in ms.items()}
    p99 = {k: percentile(v, 99) for k, v in ms.items()}
    ack = {k: median([s * 1e3 for s in v]) for k, v in out["ack"].items()}
    first = {k: median([s * 1e3 for s in v]) for k, v in out["first"].items()}
    n = members
    result.add(f"SDK, {n} subscribers: broadcast → last ChannelEvent, median", med["sdk"], "ms")
    result.add(f"SDK, {n} subscribers: broadcast → last ChannelEvent, p99", p99["sdk"], "ms")
    result.add(f"bare, {n} subscribers: broadcast → last channel.event, median", med["bare"], "ms")
    result.add(f"bare, {n} subscribers: broadcast → last channel.event, p99", p99["bare"], "ms")
    result.add(f"SDK, {n} subscribers: broadcast → first ChannelEvent, median", first["sdk"], "ms")
    result.add(
        f"bare, {n} subscribers: broadcast → first channel.event, median", first["bare"], "ms"
    )
    result.add("SDK, 1 subscriber: broadcast → ChannelEvent, median", med["one"], "ms")
    result.add("SDK, 1 subscriber: broadcast → ChannelEvent, p99", p99["one"], "ms")
    ratio = med["sdk"] / med["bare"]
    result.add("SDK / bare, median", ratio, "x", "≤ 1.1×", None if smoke else ratio <= 1.1)
    result.add("SDK / bare, p99", p99["sdk"] / p99["bare"], "x")
    result.add(f"SDK {n} subscribers / SDK 1 subscriber, median", med["sdk"] / med["one"], "x")
    rounds = out["rounds"]
    result.notes.append(
        f"{rounds} rounds of one broadcast per channel (of {sends} asked; the rounds stop "
        f"after {SEND_WINDOW:g} s), after one warm-up round; order alternating between rounds. "
        f"Subscribers ready {out['ready']}/{2 * n + 1} in {out['connect_seconds']:.1f} s"
        + (f", failures: {out['failures']}" if out["failures"] else "")
        + f"; engine's subscription counts {out['occupancy']}; broadcasts whose last "
        f"subscriber had not got the event within {DELIVERY_TIMEOUT:g} s: {out['missed']}."
    )
    result.notes.append(
        f"backend's broadcast HTTP response, median: {ack['sdk']:.2f} ms (to the SDK "
        f"channel), {ack['bare']:.2f} ms (to the bare channel), {ack['one']:.2f} ms "
        "(1 subscriber): the engine queues every subscriber's frame before it answers."
    )
    result.notes.append(
        f"CPU during the {out['rounds_seconds']:.1f} s of rounds: this process (backend and "
        f"all subscribers) {out['cpu_pct']:.0f} % of a core, engine "
        f"{out['engine_cpu_pct']:.0f} % of a core."
    )
    result.notes.append(
        "One process holds the backend (`UTDApi` with the server secret, its own HTTP "
        "client), the SDK subscribers (one shared httpx.AsyncClient) and the bare "
        "trio-websocket subscribers, on one Trio loop; the engine (hypercorn + starlette) is "
        "a separate process; 2 shared cores. Event data ≈ 110 B of JSON. Time = last "
        "subscriber's arrival − just before `api.broadcast`."
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--members", type=int)
    parser.add_argument("--sends", type=int)
    args = parser.parse_args()
    trio.run(lambda: _print(run(smoke=args.smoke, members=args.members, sends=args.sends)))


async def _print(coro: Awaitable[Result]) -> None:
    (await coro).print()


if __name__ == "__main__":
    main()
