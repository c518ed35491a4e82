"""Load generator: N simulated users exchange direct messages; prints throughput and latency.

Try it against the local reference engine::

    utd-trio serve --mint-rate-limit 0 &
    python examples/load_generator.py --users 20 --messages 50

Every user connects, then sends ``--messages`` messages to random other users (``--seed``
makes the choice reproducible), at most ``--rate`` per second each (default: as fast as
acks come back). It measures the ack latency (send → stored) and the delivery latency
(send → the recipient's `MessageReceived`), waits until every message arrived (or
``--settle`` seconds passed) and prints throughput, p50/p90/p99 and how many were lost.
Exit status 1 if any message was lost.

Connection settings come from ``--base-url/--app-id/--app-key`` or the environment
(``UTD_BASE_URL``, ``UTD_APP_ID``, ``UTD_APP_KEY``); the defaults match ``utd-trio serve``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import trio

from utd_trio import MessageReceived, Signaling, UTDStreamError, open_signaling


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Chat load generator.")
    parser.add_argument(
        "--base-url", default=os.environ.get("UTD_BASE_URL", "http://127.0.0.1:8080")
    )
    parser.add_argument("--app-id", default=os.environ.get("UTD_APP_ID", "app_test"))
    parser.add_argument("--app-key", default=os.environ.get("UTD_APP_KEY", "key_test"))
    parser.add_argument("--users", type=int, default=10, help="simulated users (>= 2)")
    parser.add_argument("--messages", type=int, default=20, help="messages each user sends")
    parser.add_argument("--rate", type=float, help="max messages per second per user")
    parser.add_argument("--settle", type=float, default=10.0, help="max wait for deliveries")
    parser.add_argument("--prefix", default="load", help="user ids are <prefix>-<n>")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.users < 2 or args.messages < 1:
        parser.error("need --users >= 2 and --messages >= 1")
    return args


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``values`` (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Stats:
    """What the run measured; ``sent`` maps a message tag to its send time."""

    sent: dict[str, float] = field(default_factory=dict[str, float])
    acks: list[float] = field(default_factory=list[float])
    deliveries: list[float] = field(default_factory=list[float])
    delivered: set[str] = field(default_factory=set[str])
    all_delivered: trio.Event = field(default_factory=trio.Event)
    expected: int = 0

    def received(self, tag: str, now: float) -> None:
        """Record a delivery (once per tag)."""
        start = self.sent.get(tag)
        if start is None or tag in self.delivered:
            return
        self.delivered.add(tag)
        self.deliveries.append(now - start)
        if len(self.delivered) == self.expected:
            self.all_delivered.set()


async def receive(sig: Signaling, stats: Stats, *, task_status: trio.TaskStatus[None]) -> None:
    """Record every load message delivered to this user."""
    async with sig.events(MessageReceived) as inbox:
        task_status.started()
        async for event in inbox:
            if isinstance(event, MessageReceived):
                tag = event.message.metadata.get("load_tag")
                if isinstance(tag, str):
                    stats.received(tag, time.perf_counter())


async def send_all(
    sig: Signaling, peers: list[str], args: argparse.Namespace, rng: random.Random, stats: Stats
) -> None:
    """Send ``--messages`` messages from ``sig``'s user to random peers."""
    interval = 1 / args.rate if args.rate else 0.0
    for n in range(args.messages):
        to = rng.choice(peers)
        tag = f"{sig.user_id}/{n}"
        start = stats.sent[tag] = time.perf_counter()
        text = f"message {n} from {sig.user_id}"
        await sig.send_message(to=to, text=text, metadata={"load_tag": tag})
        stats.acks.append(time.perf_counter() - start)
        if interval:
            await trio.sleep(interval)


def report(args: argparse.Namespace, stats: Stats, seconds: float) -> str:
    """The summary printed at the end."""
    lost = stats.expected - len(stats.delivered)

    def spread(values: list[float]) -> str:
        return "  ".join(f"p{p} {percentile(values, p) * 1000:.1f}" for p in (50, 90, 99))

    return "\n".join(
        [
            f"users: {args.users}, messages: {stats.expected}, lost: {lost}",
            f"throughput: {len(stats.delivered) / seconds:.0f} msg/s over {seconds:.2f} s",
            "ack latency ms:      " + spread(stats.acks),
            "delivery latency ms: " + spread(stats.deliveries),
        ]
    )


async def run(args: argparse.Namespace) -> int:
    """Connect everyone, send, wait for the deliveries, print the report; 1 if any was lost."""
    users = [f"{args.prefix}-{n}" for n in range(args.users)]
    rng = random.Random(args.seed)
    stats = Stats(expected=args.users * args.messages)
    # Sessions close first (leaving the stack), which ends the receivers' streams.
    async with trio.open_nursery() as receivers, AsyncExitStack() as stack:
        sessions: list[Signaling] = []
        for user in users:
            sig = await stack.enter_async_context(
                open_signaling(
                    app_id=args.app_id, app_key=args.app_key, user_id=user, base_url=args.base_url
                )
            )
            await receivers.start(receive, sig, stats)
            sessions.append(sig)
        print(f"{len(sessions)} users connected; sending...", flush=True)
        started = time.perf_counter()
        async with trio.open_nursery() as senders:
            for sig in sessions:
                peers = [user for user in users if user != sig.user_id]
                senders.start_soon(send_all, sig, peers, args, random.Random(rng.random()), stats)
        with trio.move_on_after(args.settle):
            await stats.all_delivered.wait()
        seconds = time.perf_counter() - started
    print(report(args, stats, seconds), flush=True)
    return 0 if len(stats.delivered) == stats.expected else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return trio.run(run, args)
    except KeyboardInterrupt:
        return 130
    except UTDStreamError as error:
        print(f"load_generator: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
