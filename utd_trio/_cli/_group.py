"""``utd-trio group``: create a chat group (its id is what ``send --group`` takes), list them."""

from __future__ import annotations

import argparse
import json
import sys

from .._models import Group
from ._common import (
    EXIT_OK,
    Subparsers,
    add_client_options,
    add_command,
    client_options,
    open_api,
)
from ._flags import identity_list
from ._format import jsonable
from ._output import write_line

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    """Add the ``group`` subcommand and its ``create`` and ``list`` actions."""
    parser = subparsers.add_parser(
        "group",
        help="create or list chat groups",
        description="Chat groups over REST (no socket is opened).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = add_command(
        actions,
        "create",
        _create,
        summary="create a group owned by --user; prints the group id",
        description="Create a group named --name owned by --user with --members, and print "
        "its id alone on stdout (so GROUP=$(utd-trio group create ...) works); "
        "`utd-trio send --group GROUP_ID` posts to it.",
    )
    add_client_options(create, display_name=False)
    create.add_argument("--name", dest="group_name", required=True, help="the group's name")
    create.add_argument(
        "--members",
        type=identity_list,
        required=True,
        metavar="USER,USER",
        help="the members besides the owner, comma-separated",
    )
    create.add_argument("--json", action="store_true", help="print the whole group as JSON")
    listing = add_command(
        actions,
        "list",
        _list,
        summary="list the groups --user belongs to",
        description="Print one line per group --user belongs to: id, name and members.",
    )
    add_client_options(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")


def _members(group: Group) -> str:
    return ", ".join(
        m.user_id if m.role == "member" else f"{m.user_id} ({m.role})" for m in group.members
    )


async def _create(args: argparse.Namespace) -> int:
    options = client_options(args)
    async with open_api(options) as api:
        group = await api.create_group(args.group_name, args.members)
    text = json.dumps(jsonable(group), ensure_ascii=False) if args.json else group.group_id
    write_line(sys.stdout, text)
    return EXIT_OK


async def _list(args: argparse.Namespace) -> int:
    options = client_options(args)
    async with open_api(options) as api:
        groups = await api.list_groups()
    for group in groups:
        if args.json:
            write_line(sys.stdout, json.dumps(jsonable(group), ensure_ascii=False))
        else:
            write_line(sys.stdout, f"{group.group_id}  {group.name!r}  members: {_members(group)}")
    return EXIT_OK
