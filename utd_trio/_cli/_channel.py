"""``utd-trio channel``: rooms and broadcast (contract §11) from the command line.

``listen`` and ``trigger`` act as a user on the socket (grants from the engine's development
endpoint); ``broadcast``, ``list`` and ``users`` act as the customer's backend with the
server secret (see `._channel_backend`).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import trio

from .. import Channel
from .._events import (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Connected,
    Disconnected,
    Event,
)
from .._protocol._channels import channel_kind
from ._channel_backend import add_backend_actions
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
from ._flags import channel_name, client_event, json_data, json_object, private_channel, seconds
from ._format import EventPrinter, compact_json
from ._listen import add_output_options, printer_for, show_connected

__all__ = ["register"]

_SHOWN: tuple[type[Event], ...] = (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Connected,
    Disconnected,
)
"""What ``channel listen`` prints: the channel's events and the reconnects around them."""

_USER_INFO_HELP = (
    "presence channels: what the others see of you, a JSON object of at most 1 KiB "
    """(e.g. '{"name": "Alice"}')"""
)


def register(subparsers: Subparsers) -> None:
    """Add the ``channel`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "channel",
        help="rooms and broadcast: listen, trigger, broadcast, list, users",
        description="Pusher-style channels on the same socket: public, private- and "
        "presence- channels. `listen` and `trigger` act as --user (the engine signs the "
        "grants of development projects); `broadcast`, `list` and `users` act as your "
        "backend with the server secret (--app-secret or UTD_APP_SECRET).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_listen(actions)
    _add_trigger(actions)
    add_backend_actions(actions)


def _add_listen(actions: Subparsers) -> None:
    listen = add_command(
        actions,
        "listen",
        _listen,
        summary="join a channel as --user and print its events until Ctrl-C",
        description="Subscribe to channel NAME as --user and print its events, its member "
        "changes (presence- channels, whose member list is printed on joining) and, after a "
        "reconnect, that the channel was subscribed again, until Ctrl-C.",
    )
    listen.add_argument("channel", type=channel_name, metavar="NAME", help="the channel")
    add_client_options(listen)
    add_output_options(listen)
    listen.add_argument("--user-info", type=json_object, metavar="JSON", help=_USER_INFO_HELP)
    listen.add_argument(
        "--max-events", type=int, metavar="N", help="stop after N events (default: no limit)"
    )
    listen.add_argument(
        "--duration", type=seconds, metavar="SECONDS", help="stop after this long (default: never)"
    )


def _add_trigger(actions: Subparsers) -> None:
    trigger = add_command(
        actions,
        "trigger",
        _trigger,
        summary="send one client event to a private- or presence- channel as --user",
        description="Subscribe to NAME as --user, send client event EVENT (client-…) with "
        "DATA (any JSON value: quote strings, '\"hi\"') to the channel's other sockets, and "
        "leave. Client events exist on private- and presence- channels only.",
    )
    trigger.add_argument(
        "channel", type=private_channel, metavar="NAME", help="a private- or presence- channel"
    )
    trigger.add_argument(
        "event", type=client_event, metavar="EVENT", help="the event's name, client-…"
    )
    trigger.add_argument("data", type=json_data, metavar="DATA", help="the event's data (JSON)")
    add_client_options(trigger)
    add_output_options(trigger)
    trigger.add_argument("--user-info", type=json_object, metavar="JSON", help=_USER_INFO_HELP)


def _user_info(args: argparse.Namespace) -> dict[str, Any] | None:
    info: dict[str, Any] | None = args.user_info
    if info is not None and channel_kind(args.channel) != "presence":
        raise CommandError(
            f"--user-info is for presence- channels only; NAME {args.channel!r} is "
            f"{channel_kind(args.channel)}: drop --user-info",
            EXIT_USAGE,
        )
    return info


def _members(members: Mapping[str, Mapping[str, Any]]) -> str:
    return ", ".join(
        f"{user} {compact_json(info)}" if info else user for user, info in members.items()
    )


def _show_members(printer: EventPrinter, user: str, channel: Channel, what: str) -> None:
    members = dict(channel.members)
    printer.note(
        user,
        f"{channel.name}: {what}; {len(members)} member(s): {_members(members)}",
        channel=channel.name,
        members=members,
    )


def show_joined(printer: EventPrinter, user: str, channel: Channel) -> None:
    """The line for a channel just subscribed (with the members of a presence channel)."""
    if channel.kind == "presence":
        _show_members(printer, user, channel, "joined")
    else:
        printer.note(
            user,
            f"{channel.name}: subscribed ({channel.kind} channel)",
            channel=channel.name,
            kind=channel.kind,
        )


async def _listen(args: argparse.Namespace) -> int:
    options = client_options(args)
    info = _user_info(args)
    if args.max_events is not None and args.max_events < 0:
        raise CommandError("--max-events must be >= 0", EXIT_USAGE)
    printer = printer_for(args)
    with trio.move_on_after(args.duration if args.duration is not None else float("inf")):
        async with open_client(options) as sig:
            show_connected(printer, sig)
            # the stream is opened before subscribing: nothing after the ack can be missed
            async with (
                sig.events(*_SHOWN, overflow="block") as stream,
                sig.subscribe_channel(args.channel, info) as channel,
            ):
                show_joined(printer, sig.user_id, channel)
                if args.max_events == 0:
                    return EXIT_OK
                seen = 0
                async for event in stream:
                    if getattr(event, "channel", channel.name) != channel.name:
                        continue
                    printer.event(sig.user_id, event)
                    if isinstance(event, ChannelResubscribed) and channel.kind == "presence":
                        _show_members(printer, sig.user_id, channel, "members now")
                    seen += 1
                    if args.max_events is not None and seen >= args.max_events:
                        break
    return EXIT_OK


async def _trigger(args: argparse.Namespace) -> int:
    options = client_options(args)
    info = _user_info(args)
    printer = printer_for(args)
    async with (
        open_client(options) as sig,
        sig.subscribe_channel(args.channel, info) as channel,
    ):
        await channel.trigger(args.event, args.data)
        others = len([user for user in channel.members if user != sig.user_id])
    seen = f" ({others} other member(s) there)" if channel.kind == "presence" else ""
    printer.note(
        sig.user_id,
        f"{args.channel}: sent {args.event}: {compact_json(args.data)}{seen}",
        channel=args.channel,
        event=args.event,
        data=args.data,
    )
    return EXIT_OK
