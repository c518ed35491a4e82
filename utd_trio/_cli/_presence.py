"""``utd-trio presence``: print users' presence, optionally following changes."""

from __future__ import annotations

import argparse

import trio

from .._events import Connected, Disconnected, PresenceChanged
from .._models import PresenceInfo
from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Subparsers,
    add_client_options,
    add_command,
    client_options,
    open_api,
    open_client,
)
from ._flags import identity, seconds
from ._format import EventPrinter
from ._listen import add_output_options, printer_for

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    """Add the ``presence`` subcommand."""
    parser = add_command(
        subparsers,
        "presence",
        _presence,
        summary="print users' presence (optionally --watch for changes)",
        description="Print whether each USER is online. With --watch, stay connected as "
        "--user and print every change until Ctrl-C (--user then appears online too; without "
        "--watch the query uses REST only and opens no socket). The user column is the "
        "looked-up user in both modes (connection lines under --watch show --user).",
    )
    parser.add_argument(
        "users", nargs="+", type=identity, metavar="USER", help="the users to look up"
    )
    add_client_options(parser)
    add_output_options(parser)
    parser.add_argument("--watch", action="store_true", help="follow changes until Ctrl-C")
    parser.add_argument(
        "--max-events", type=int, metavar="N", help="with --watch: stop after N changes"
    )
    parser.add_argument(
        "--duration", type=seconds, metavar="SECONDS", help="with --watch: stop after this long"
    )


def _show(printer: EventPrinter, info: PresenceInfo) -> None:
    if info.online:
        state = "online"
    elif info.last_seen_at is not None:
        state = f"offline (last seen {info.last_seen_at.isoformat(timespec='seconds')})"
    else:
        state = "offline"
    printer.note(info.user_id, f"{info.user_id} is {state}", presence=info)


async def _presence(args: argparse.Namespace) -> int:
    options = client_options(args)
    printer = printer_for(args)
    if not args.watch:
        if args.max_events is not None or args.duration is not None:
            raise CommandError("--max-events and --duration need --watch", EXIT_USAGE)
        async with open_api(options) as api:
            for info in await api.presence(args.users):
                _show(printer, info)
        return EXIT_OK
    if args.max_events is not None and args.max_events < 0:
        raise CommandError("--max-events must be >= 0", EXIT_USAGE)
    with trio.move_on_after(args.duration if args.duration is not None else float("inf")):
        async with (
            open_client(options) as sig,
            sig.events(PresenceChanged, Connected, Disconnected) as stream,
        ):
            for info in await sig.subscribe_presence(args.users):
                _show(printer, info)
            changes = 0
            while args.max_events is None or changes < args.max_events:
                event = await stream.receive()
                if isinstance(event, PresenceChanged):  # the user column: whose presence
                    printer.event(event.user_id, event)
                    changes += 1
                else:  # connection lines are --user's own
                    printer.event(sig.user_id, event)
    return EXIT_OK
