"""``utd-trio call``: invite a user and report the outcome (answered, rejected, missed...)."""

from __future__ import annotations

import argparse
import logging
import math

import trio

from .. import EventStream, Signaling
from .._errors import UTDStreamError
from .._events import (
    CallAccepted,
    CallCancelled,
    CallEnded,
    CallMissed,
    CallRejected,
    CallRinging,
    Connected,
    Disconnected,
    Event,
)
from .._models import Call
from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Subparsers,
    add_client_options,
    add_command,
    client_options,
    open_client,
)
from ._flags import identity
from ._format import EventPrinter
from ._listen import add_output_options, printer_for

__all__ = ["register"]

_UNANSWERED = (CallRejected, CallMissed, CallCancelled)
_CLEANUP_TIMEOUT = 2.0

log = logging.getLogger("utd_trio.cli")


def register(subparsers: Subparsers) -> None:
    """Add the ``call`` subcommand."""
    parser = add_command(
        subparsers,
        "call",
        _call,
        summary="call a user and wait for the outcome",
        description="Invite --to as --user and print what happens: ringing, then accepted, "
        "rejected or missed. An answered call lasts until the other side hangs up, "
        "--hangup-after elapses or Ctrl-C (which hangs up, or cancels a ringing call). "
        "Exit status 0 when the call was answered, 1 when it was not.",
    )
    add_client_options(parser)
    add_output_options(parser)
    parser.add_argument(
        "--to", required=True, type=identity, metavar="USER", help="the user to call"
    )
    parser.add_argument("--video", action="store_true", help="a video call (default: audio)")
    parser.add_argument(
        "--ring-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="cancel when unanswered after this long (default 60; the engine's own ring "
        "timeout usually reports the call missed first)",
    )
    parser.add_argument(
        "--hangup-after",
        type=float,
        metavar="SECONDS",
        help="hang up this long after the answer (default: stay until the other side ends)",
    )


def _check(args: argparse.Namespace) -> None:
    limits = (("--ring-timeout", args.ring_timeout), ("--hangup-after", args.hangup_after))
    for flag, value in limits:
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise CommandError(f"{flag} must be a number of seconds >= 0", EXIT_USAGE)


class _Progress:
    """One outgoing call: its events are printed; ``phase`` decides the cleanup."""

    def __init__(self, sig: Signaling, call: Call, stream: EventStream[Event], out: EventPrinter):
        self.sig = sig
        self.call = call
        self.stream = stream
        self.out = out
        self.phase = "ringing"  # then "active", then "over"

    async def wait_for(self, *kinds: type[Event]) -> Event:
        """Print this call's events (and connection changes) until one of ``kinds``."""
        async for event in self.stream:
            if isinstance(event, Disconnected | Connected):
                self.out.event(self.sig.user_id, event)
            elif getattr(event, "call_id", None) == self.call.call_id:
                self.out.event(self.sig.user_id, event)
                if isinstance(event, kinds):
                    return event
        raise CommandError("the session ended during the call")

    async def leave(self) -> None:
        """Cancel a still-ringing call or hang up an active one (bounded, even when cancelled)."""
        phase, self.phase = self.phase, "over"
        with trio.CancelScope(shield=True), trio.move_on_after(_CLEANUP_TIMEOUT):
            try:
                if phase == "ringing":
                    await self.sig.cancel_call(self.call.call_id)
                    self.out.note(self.sig.user_id, f"cancelled {self.call.call_id}")
                elif phase == "active":
                    duration = await self.sig.end_call(self.call.call_id)
                    took = f" after {duration} s" if duration is not None else ""
                    self.out.note(self.sig.user_id, f"hung up {self.call.call_id}{took}")
            except UTDStreamError as error:  # it ended meanwhile (the other side was faster)
                log.debug("leaving %s: %s", self.call.call_id, error)


async def _call(args: argparse.Namespace) -> int:
    _check(args)
    options = client_options(args)
    printer = printer_for(args)
    kinds = (CallRinging, CallAccepted, *_UNANSWERED, CallEnded, Connected, Disconnected)
    async with open_client(options) as sig, sig.events(*kinds) as stream:
        call = await sig.invite(args.to, video=args.video)
        printer.note(sig.user_id, f"calling {args.to}: {call.call_id} ({call.status})", call=call)
        progress = _Progress(sig, call, stream, printer)
        try:
            with trio.move_on_after(args.ring_timeout):
                outcome = await progress.wait_for(CallAccepted, *_UNANSWERED)
                if not isinstance(outcome, CallAccepted):
                    progress.phase = "over"
                    name = type(outcome).__name__.removeprefix("Call").lower()
                    raise CommandError(f"{args.to} did not answer: {name}")
                progress.phase = "active"
            if progress.phase == "ringing":
                raise CommandError(f"no answer within {args.ring_timeout:g} s; cancelled")
            hangup = math.inf if args.hangup_after is None else args.hangup_after
            with trio.move_on_after(hangup):
                await progress.wait_for(CallEnded)
                progress.phase = "over"
        finally:
            await progress.leave()
    return EXIT_OK
