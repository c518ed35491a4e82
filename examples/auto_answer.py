"""Auto-answer call bot: accepts every incoming call and hangs up after N seconds.

Try it against the local reference engine::

    utd-trio serve &                                   # prints base URL and credentials
    python examples/auto_answer.py --user support --hangup-after 3
    utd-trio call --base-url http://127.0.0.1:8080 --app-id app_test --app-key key_test \
        --user alice --to support                      # in another terminal

Connection settings come from ``--base-url/--app-id/--app-key`` or the environment
(``UTD_BASE_URL``, ``UTD_APP_ID``, ``UTD_APP_KEY``); the defaults match ``utd-trio serve``.
``--max-calls`` and ``--duration`` bound the run (the tests use them).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import trio

from utd_trio import (
    CallCancelled,
    CallEnded,
    CallIncoming,
    Signaling,
    UTDStreamError,
    open_signaling,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Auto-answer call bot.")
    parser.add_argument(
        "--base-url", default=os.environ.get("UTD_BASE_URL", "http://127.0.0.1:8080")
    )
    parser.add_argument("--app-id", default=os.environ.get("UTD_APP_ID", "app_test"))
    parser.add_argument("--app-key", default=os.environ.get("UTD_APP_KEY", "key_test"))
    parser.add_argument("--user", default="support", help="the bot's identity")
    parser.add_argument("--hangup-after", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--max-calls", type=int, metavar="N", help="stop after N calls")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    return parser.parse_args(argv)


async def handle_call(sig: Signaling, call: CallIncoming, hangup_after: float) -> None:
    """Accept ``call``, keep it up for ``hangup_after`` seconds (or until the caller ends it)."""
    print(f"{call.caller} is calling ({call.call_id}); answering", flush=True)
    try:
        await sig.accept_call(call.call_id)
    except UTDStreamError as error:  # cancelled or answered elsewhere meanwhile
        print(f"could not answer {call.call_id}: {error}", flush=True)
        return
    async with sig.events(CallEnded) as ended:
        with trio.move_on_after(hangup_after):
            async for event in ended:
                if isinstance(event, CallEnded) and event.call_id == call.call_id:
                    print(f"{call.caller} hung up {call.call_id}", flush=True)
                    return
    try:
        seconds = await sig.end_call(call.call_id)
        print(f"hung up {call.call_id} after {seconds} s", flush=True)
    except UTDStreamError as error:  # the caller was faster
        print(f"{call.call_id} already over: {error}", flush=True)


async def run(
    args: argparse.Namespace, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Answer calls until ``--max-calls`` were handled, ``--duration`` passed, or Ctrl-C."""
    duration = args.duration if args.duration is not None else math.inf
    with trio.move_on_after(duration):
        async with (
            open_signaling(
                app_id=args.app_id, app_key=args.app_key, user_id=args.user, base_url=args.base_url
            ) as sig,
            sig.events(CallIncoming, CallCancelled) as events,
            trio.open_nursery() as calls,
        ):
            print(f"{args.user}: answering calls, hanging up after {args.hangup_after:g} s")
            task_status.started()
            handled = 0
            async for event in events:
                match event:
                    case CallCancelled(call_id=call_id):
                        print(f"{call_id} was cancelled before the answer", flush=True)
                    case CallIncoming():
                        calls.start_soon(handle_call, sig, event, args.hangup_after)
                        handled += 1
                    case _:
                        pass
                if args.max_calls is not None and handled >= args.max_calls:
                    break  # leaving the nursery waits for the calls in progress


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        trio.run(run, args)
    except KeyboardInterrupt:
        return 0
    except UTDStreamError as error:
        print(f"auto_answer: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
