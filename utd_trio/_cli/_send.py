"""``utd-trio send``: send one chat message to a user or a group."""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path

from .._models import Attachment
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
from ._format import describe_message
from ._listen import add_output_options, printer_for

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    """Add the ``send`` subcommand."""
    parser = add_command(
        subparsers,
        "send",
        _send,
        summary="send one chat message to a user or a group",
        description="Send TEXT as --user to --to USER or --group GROUP_ID (optionally with "
        "an --attach FILE uploaded first) and print the stored message.",
    )
    add_client_options(parser)
    add_output_options(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--to", type=identity, metavar="USER", help="the recipient of a direct message"
    )
    target.add_argument("--group", metavar="GROUP_ID", help="the group to post to")
    parser.add_argument("text", nargs="?", help="the message text")
    parser.add_argument("--attach", type=Path, metavar="FILE", help="upload FILE and attach it")
    parser.add_argument(
        "--content-type", help="the attachment's type (default: guessed from the file name)"
    )


def _content_type(path: Path, given: str | None) -> str:
    if given:
        return given
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


async def _send(args: argparse.Namespace) -> int:
    if args.text is None and args.attach is None:
        raise CommandError("nothing to send: give TEXT and/or --attach FILE", EXIT_USAGE)
    options = client_options(args)
    printer = printer_for(args)
    async with open_client(options) as sig:
        attachment: Attachment | None = None
        if args.attach is not None:
            attachment = await sig.upload(
                str(args.attach), content_type=_content_type(args.attach, args.content_type)
            )
        message = await sig.send_message(
            to=args.to, group_id=args.group, text=args.text, attachment=attachment
        )
    printer.note(sig.user_id, f"sent {describe_message(message)}", message=message)
    return EXIT_OK
