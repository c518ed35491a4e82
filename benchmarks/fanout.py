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

Other loops (issue 18: every benchmark has Trio and asyncio rows): the same measurement
(`measure`, written in anyio) in a worker process per loop (``_loop_worker.py call``:
``asyncio.run``, and ``uvloop.run`` where installed), after the Trio run, against the same
engine process, with users and groups of their own. There the sender, the SDK members and the
1-member group run on that loop, and the bare baseline is ``websockets``
(``websockets.asyncio.client``: no compression, no keepalive pings; ``recv()`` +
``json.loads``), the usual bare asyncio client. Their rows are prefixed ``asyncio: ``,
``uvloop: ``; the unprefixed rows are Trio's.

Figures, per loop: median and p99 of send → last member, for each group; median of send →
first member; ratios SDK/bare (median, p99) and 200 members / 1 member (SDK). Notes: the
sender's ``send_message`` ack latency, and the CPU of the members' process and of the engine
during the rounds.

    uv run python -m benchmarks.fanout [--smoke] [--members 200] [--sends 200]
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

from utd_trio import MessageReceived, Signaling, UTDApi, open_signaling

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
CONNECT_CAP = 90.0  # every member connected, or the benchmark reports what it got
DELIVERY_TIMEOUT = 10.0  # per send: the last member must have it by then
GAP = 0.01  # idle time between sends
TEXT = "Standup moved to 10:30 today; the release notes are in the usual doc, please skim."


async def measure(
    info: dict[str, Any], members: int, sends: int, loop_name: str = "trio"
) -> dict[str, Any]:
    """The rounds against the engine ``info`` describes, on the running loop (any of them).

    ``loop_name`` names the users and groups (Trio's keep the names they always had); the result
    is JSON (`_loop_worker.py call` sends it back from a worker).
    """
    raise_fd_limit(4 * members + 512)
    creds = {"app_id": info["app_id"], "app_key": info["app_key"], "base_url": info["base_url"]}
    own = "" if loop_name == "trio" else f"{loop_name}_"  # Trio's names as they always were
    ids = {
        "sdk": [f"fan_{own}sdk_{i:04d}" for i in range(members)],
        "bare": [f"fan_{own}bare_{i:04d}" for i in range(members)],
        "one": [f"fan_{own}one"],
    }
    arrivals = {name: Arrivals(len(users)) for name, users in ids.items()}
    ready = Members(sum(len(users) for users in ids.values()))
    out: dict[str, Any] = {key: {k: [] for k in ids} for key in ("first", "last", "ack")}
    out["missed"] = {k: 0 for k in ids}

    async with httpx.AsyncClient() as http, UTDApi(**creds, http_client=http) as api:

        async def sdk_member(user: str, arr: Arrivals) -> None:
            async with (
                ready.joining() as joined,
                open_signaling(user_id=user, **creds, http_client=http) as sig,
            ):
                stream = sig.events(MessageReceived)
                joined()
                async for ev in stream:
                    if isinstance(ev, MessageReceived):
                        arr.hit(ev.message.text)

        async def bare_member(user: str, arr: Arrivals) -> None:
            async with ready.joining() as joined, bare_client(api, user) as (receive, _send):
                joined()
                while True:
                    frame = json.loads(await receive())
                    if frame.get("event") == "message.new":
                        arr.hit(frame.get("data", {}).get("text"))

        async with (
            open_signaling(user_id=f"fan_{own}sender", **creds, http_client=http) as sender,
            anyio.create_task_group() as tg,
        ):
            t0 = time.perf_counter()
            for name, users in ids.items():
                member = bare_member if name == "bare" else sdk_member
                for user in users:
                    tg.start_soon(member, user, arrivals[name])
            with anyio.move_on_after(CONNECT_CAP):
                await ready.all_ready.wait()
            out["connect_seconds"] = time.perf_counter() - t0
            out["ready"] = ready.ready
            out["failures"] = ready.failures[:5]
            groups = {
                name: (await sender.create_group(f"fanout-{own}{name}", users)).group_id
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
            tg.cancel_scope.cancel()
    return out


async def _one_send(sender: Signaling, group_id: str, arr: Arrivals, tag: str) -> Trip:
    marker = f"{tag}: {TEXT}"
    arr.arm(marker)
    await anyio.sleep(GAP)
    sent = time.perf_counter()
    await sender.send_message(group_id=group_id, text=marker)
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
    command = "uv run python -m benchmarks.fanout" + (" --smoke" if smoke else "")
    result = Result(f"Fan-out to a {members}-member group (#7.5)", command)
    cap = TIME_CAP * (1 + len(loops))
    args = ("--max-group-members", str(members + 1), "--max-seconds", str(cap + 60))
    with trio.fail_after(cap):
        async with server_process("_engine_server", *args) as info:
            per_loop = await measure_on_loops(
                "benchmarks.fanout:measure",
                measure,
                loops,
                smoke,
                info=info,
                members=members,
                sends=sends,
            )
    for loop, out in per_loop.items():
        raw = _add_figures(result, out, prefix(loop), members, sends)
        if loop == "trio":
            result.raw.update(raw)
        else:
            result.raw[loop] = raw
    result.notes.append(
        "Trio rows: one process holds the sender, the SDK members (one shared "
        "httpx.AsyncClient) and the bare trio-websocket members, on one Trio loop; the engine "
        "(hypercorn + starlette) is a separate process; 2 shared cores. Time = last member's "
        "arrival − just before send_message."
    )
    if loops:
        result.notes.append(loops_note(loops, "users and groups"))
    return result


def _add_figures(
    result: Result, out: dict[str, Any], pre: str, members: int, sends: int
) -> dict[str, Any]:
    """One loop's rows and notes (labels prefixed ``pre``); its raw figures."""
    ms = {k: [s * 1e3 for s in v] for k, v in out["last"].items()}
    if not all(ms.values()):
        result.notes.append(f"{pre}NOT MEASURED: no complete delivery in some group: {out}")
        return {"rounds": out["rounds"], "missed": out["missed"]}
    med = {k: median(v) for k, v in ms.items()}
    p99 = {k: percentile(v, 99) for k, v in ms.items()}
    ack = {k: median([s * 1e3 for s in v]) for k, v in out["ack"].items()}
    first = {k: median([s * 1e3 for s in v]) for k, v in out["first"].items()}
    n = f"{pre}SDK, {members} members: send →"
    bare = f"{pre}bare, {members} members: send →"
    result.add(f"{n} last MessageReceived, median", med["sdk"], "ms")
    result.add(f"{n} last MessageReceived, p99", p99["sdk"], "ms")
    result.add(f"{bare} last message.new, median", med["bare"], "ms")
    result.add(f"{bare} last message.new, p99", p99["bare"], "ms")
    result.add(f"{n} first MessageReceived, median", first["sdk"], "ms")
    result.add(f"{bare} first message.new, median", first["bare"], "ms")
    result.add(f"{pre}SDK, 1 member: send → MessageReceived, median", med["one"], "ms")
    result.add(f"{pre}SDK, 1 member: send → MessageReceived, p99", p99["one"], "ms")
    result.add(f"{pre}SDK / bare, median", med["sdk"] / med["bare"], "x")
    result.add(f"{pre}SDK / bare, p99", p99["sdk"] / p99["bare"], "x")
    result.add(f"{pre}SDK {members} members / SDK 1 member, median", med["sdk"] / med["one"], "x")
    rounds = out["rounds"]
    result.notes.append(
        f"{pre}{rounds} rounds of one send per group (of {sends} asked; the rounds stop after "
        f"{SEND_WINDOW:g} s), after one warm-up round; order alternating between rounds. "
        f"Members ready {out['ready']}/{2 * members + 1} in {out['connect_seconds']:.1f} s"
        + (f", failures: {out['failures']}" if out["failures"] else "")
        + "; sends whose last member had not got the message within "
        f"{DELIVERY_TIMEOUT:g} s: {out['missed']}."
    )
    result.notes.append(
        f"{pre}sender's send_message ack, median: {ack['sdk']:.2f} ms (to the SDK group), "
        f"{ack['bare']:.2f} ms (to the bare group), {ack['one']:.2f} ms (1 member): the engine "
        "queues every member's frame before it acks."
    )
    result.notes.append(
        f"{pre}CPU during the {out['rounds_seconds']:.1f} s of rounds: the members' process "
        f"(sender and all members) {out['cpu_pct']:.0f} % of a core, engine "
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
