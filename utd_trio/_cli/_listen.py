"""``utd-trio listen``: connect as a user and print every event until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

import trio

from .. import Signaling
from .._errors import UTDStreamError
from .._events import CallIncoming, Event
from ._common import (
    EXIT_OK,
    CommandError,
    Subparsers,
    add_client_options,
    add_command,
    client_options,
    open_client,
)
from ._flags import identity, seconds
from ._format import EventPrinter, Palette, describe_capabilities

__all__ = ["add_output_options", "register"]


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``--color`` (shared by the commands that print events)."""
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: auto, on a terminal unless NO_COLOR is set)",
    )


def printer_for(args: argparse.Namespace) -> EventPrinter:
    """The event printer the output options ask for, writing to stdout."""
    return EventPrinter(
        sys.stdout, json_lines=args.json, palette=Palette.for_stream(sys.stdout, args.color)
    )


def register(subparsers: Subparsers) -> None:
    """Add the ``listen`` subcommand."""
    parser = add_command(
        subparsers,
        "listen",
        _listen,
        summary="connect as a user and print events until Ctrl-C",
        description="Connect as --user and print every event (presence, calls, messages, "
        "receipts, typing, groups, reconnects) until Ctrl-C. The user column is always "
        "--user, the one receiving. With --auto-answer, incoming calls are accepted, so "
        "`utd-trio call --to USER` gets an answer.",
    )
    add_client_options(parser)
    add_output_options(parser)
    parser.add_argument(
        "--presence",
        nargs="+",
        type=identity,
        default=[],
        metavar="USER",
        help="also follow these users' presence",
    )
    parser.add_argument(
        "--auto-answer",
        action="store_true",
        help="accept every incoming call (it stays up until the caller hangs up; "
        "examples/auto_answer.py is the same bot as a program)",
    )
    parser.add_argument(
        "--max-events", type=int, metavar="N", help="stop after N events (default: no limit)"
    )
    parser.add_argument(
        "--duration", type=seconds, metavar="SECONDS", help="stop after this long (default: never)"
    )


def show_connected(printer: EventPrinter, sig: Signaling) -> None:
    """The line for the connection made while opening the session."""
    printer.note(
        sig.user_id,
        f"connected (generation {sig.generation}): {describe_capabilities(sig.capabilities)}",
        generation=sig.generation,
        capabilities=sig.capabilities,
    )


async def _print_events(
    sig: Signaling, printer: EventPrinter, limit: int | None, *, auto_answer: bool = False
) -> None:
    async with sig.events(overflow="block") as stream:
        if limit == 0:
            return
        seen = 0
        event: Event
        async for event in stream:
            printer.event(sig.user_id, event)
            if auto_answer and isinstance(event, CallIncoming):
                await _answer(sig, printer, event)
            seen += 1
            if limit is not None and seen >= limit:
                return


async def _answer(sig: Signaling, printer: EventPrinter, call: CallIncoming) -> None:
    """``--auto-answer``: accept ``call`` (it may have been cancelled or answered meanwhile)."""
    try:
        answer = await sig.accept_call(call.call_id)
    except UTDStreamError as error:
        printer.note(sig.user_id, f"could not answer {call.call_id}: {error.message}")
        return
    room = f" (room {answer.room_name})" if answer.room_name else ""
    text = f"answered call {call.call_id} from {call.caller}{room}"
    printer.note(sig.user_id, text, call_id=call.call_id, answer=answer)


async def _listen(args: argparse.Namespace) -> int:
    options = client_options(args)
    if args.max_events is not None and args.max_events < 0:
        raise CommandError("--max-events must be >= 0", 2)
    printer = printer_for(args)
    with trio.move_on_after(args.duration if args.duration is not None else float("inf")):
        async with open_client(options) as sig:
            show_connected(printer, sig)
            async with trio.open_nursery() as nursery:
                if args.presence:
                    nursery.start_soon(_follow_presence, sig, printer, list(args.presence))
                await _print_events(sig, printer, args.max_events, auto_answer=args.auto_answer)
                nursery.cancel_scope.cancel()
    return EXIT_OK


async def _follow_presence(sig: Signaling, printer: EventPrinter, users: list[str]) -> None:
    for info in await sig.subscribe_presence(users):
        state = "online" if info.online else "offline"
        printer.note(sig.user_id, f"{info.user_id} is {state}", presence=info)
