"""Presence dashboard: prints one status line of the watched users whenever one changes.

Try it against the local reference engine::

    utd-trio serve &
    python examples/presence_dashboard.py alice bob carol
    utd-trio listen --base-url http://127.0.0.1:8080 --app-id app_test --app-key key_test \
        --user bob                                     # bob comes online; Ctrl-C: offline

Connection settings come from ``--base-url/--app-id/--app-key`` or the environment
(``UTD_BASE_URL``, ``UTD_APP_ID``, ``UTD_APP_KEY``); the defaults match ``utd-trio serve``.
``--max-updates`` and ``--duration`` bound the run (the tests use them).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from datetime import datetime

import trio

from utd_trio import Connected, PresenceChanged, PresenceInfo, UTDStreamError, open_signaling


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Presence dashboard.")
    parser.add_argument("users", nargs="+", metavar="USER", help="the users to watch")
    parser.add_argument(
        "--base-url", default=os.environ.get("UTD_BASE_URL", "http://127.0.0.1:8080")
    )
    parser.add_argument("--app-id", default=os.environ.get("UTD_APP_ID", "app_test"))
    parser.add_argument("--app-key", default=os.environ.get("UTD_APP_KEY", "key_test"))
    parser.add_argument("--user", default="dashboard", help="the dashboard's own identity")
    parser.add_argument("--max-updates", type=int, metavar="N", help="stop after N changes")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    return parser.parse_args(argv)


def status_line(board: dict[str, PresenceInfo]) -> str:
    """``12:00:01  ● alice  ○ bob (seen 11:59:30)`` in the order the users were given."""
    cells: list[str] = []
    for user, info in board.items():
        if info.online:
            cells.append(f"● {user}")
        elif info.last_seen_at is not None:
            cells.append(f"○ {user} (seen {info.last_seen_at.astimezone():%H:%M:%S})")
        else:
            cells.append(f"○ {user}")
    return f"{datetime.now():%H:%M:%S}  " + "  ".join(cells)


async def run(
    args: argparse.Namespace, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Print the board, then a new line on every change (and after every reconnect)."""
    board = {user: PresenceInfo(user, online=False) for user in args.users}
    duration = args.duration if args.duration is not None else math.inf
    with trio.move_on_after(duration):
        async with (
            open_signaling(
                app_id=args.app_id, app_key=args.app_key, user_id=args.user, base_url=args.base_url
            ) as sig,
            sig.events(PresenceChanged, Connected) as events,
        ):
            for info in await sig.subscribe_presence(args.users):
                board[info.user_id] = info
            print(status_line(board), flush=True)
            task_status.started()
            updates = 0
            async for event in events:
                match event:
                    case Connected(generation=generation):
                        if generation > 1:  # the first stream also sees the first connect
                            print(f"(reconnected: generation {generation})", flush=True)
                        continue
                    case PresenceChanged(user_id=user, online=online, last_seen_at=seen):
                        board[user] = PresenceInfo(user, online, seen)
                    case _:
                        continue
                print(status_line(board), flush=True)
                updates += 1
                if args.max_updates is not None and updates >= args.max_updates:
                    break


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        trio.run(run, args)
    except KeyboardInterrupt:
        return 0
    except UTDStreamError as error:
        print(f"presence_dashboard: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
