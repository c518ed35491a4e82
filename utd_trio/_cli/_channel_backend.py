"""``utd-trio channel broadcast / list / users``: the customer backend's channel calls.

They hold the project's server secret (``--app-secret`` or ``UTD_APP_SECRET``), open no
socket and act as nobody. The secret is never printed: not in output, not in errors.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import UTDApi
from .._errors import ErrorCode, UTDStreamError
from .._protocol import _vocab as v
from .._protocol._urls import check_base_url
from .._protocol._validate import check_header_value
from ._common import EXIT_OK, EXIT_USAGE, CommandError, Subparsers, add_command
from ._flags import broadcast_event, channel_list, json_data, presence_channel, seconds
from ._format import compact_json
from ._output import write_line
from ._report import speak_flags

__all__ = ["BackendOptions", "add_backend_actions", "backend_options", "open_backend"]


@dataclass(frozen=True)
class BackendOptions:
    """Where the backend calls go and with which secret (``repr`` hides the secret)."""

    base_url: str
    app_id: str
    app_secret: str = field(repr=False)
    ca_file: Path | None = None
    insecure: bool = False
    timeout: float = 10.0


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--base-url``, ``--app-id``, ``--app-secret``, the TLS options and ``--timeout``."""
    group = parser.add_argument_group("backend (server secret)")
    group.add_argument(
        "--base-url", help=f"engine REST base URL (env UTD_BASE_URL; default {v.DEFAULT_BASE_URL})"
    )
    group.add_argument("--app-id", help="project app id (env UTD_APP_ID)")
    group.add_argument(
        "--app-secret",
        metavar="SECRET",
        help="the project's server secret (env UTD_APP_SECRET, better: a flag shows in `ps`)",
    )
    group.add_argument("--ca-file", type=Path, help="PEM CA certificate to trust for https")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http to a non-loopback host (TLS is never unverified)",
    )
    group.add_argument(
        "--timeout",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help="give up on the engine after this long (default 10)",
    )


def backend_options(args: argparse.Namespace) -> BackendOptions:
    """The backend options from ``args``, falling back on the ``UTD_*`` environment."""
    base_url = args.base_url or os.environ.get("UTD_BASE_URL") or v.DEFAULT_BASE_URL
    app_id = args.app_id or os.environ.get("UTD_APP_ID")
    secret = args.app_secret or os.environ.get("UTD_APP_SECRET")
    if not app_id or not secret:
        missing = " and ".join(
            flag for flag, value in (("--app-id", app_id), ("--app-secret", secret)) if not value
        )
        raise CommandError(
            f"missing {missing} (or UTD_APP_ID / UTD_APP_SECRET): "
            "backend calls need the project's server secret",
            EXIT_USAGE,
        )
    try:
        check_header_value(secret, "--app-secret")  # its message never echoes the secret
        check_header_value(app_id, "--app-id", secret=False)
        base_url = check_base_url(base_url, allow_insecure=args.insecure)
    except ValueError as error:
        raise CommandError(speak_flags(str(error)), EXIT_USAGE) from None
    if not args.timeout > 0:
        raise CommandError("--timeout must be > 0", EXIT_USAGE)
    return BackendOptions(
        base_url=base_url,
        app_id=app_id,
        app_secret=secret,
        ca_file=args.ca_file,
        insecure=args.insecure,
        timeout=args.timeout,
    )


def _explain(error: UTDStreamError, options: BackendOptions) -> CommandError | None:
    """A backend failure in the words of the command line, or None to report it as is."""
    root = options.base_url.rstrip("/")
    if error.code is ErrorCode.UNAUTHORIZED:
        return CommandError(
            f"bad credentials: the engine at {root} refused the app id / app secret "
            f"({error.message}); check --app-id and --app-secret (or UTD_APP_SECRET)"
        )
    if error.status in (404, 405, 501) or error.code is ErrorCode.PROTOCOL:
        answer = f"answered {error.status}" if error.status else "did not answer the engine's JSON"
        return CommandError(
            f"no UTD-Stream engine at {root} ({answer}); check --base-url: it is the "
            "engine's root URL, like http://127.0.0.1:8080"
        )
    return None


@asynccontextmanager
async def open_backend(options: BackendOptions) -> AsyncGenerator[UTDApi]:
    """A `UTDApi` holding the server secret; its failures explained for the command line."""
    context: ssl.SSLContext | None = None
    if options.ca_file is not None:
        try:
            context = ssl.create_default_context(cafile=str(options.ca_file))
        except (OSError, ssl.SSLError) as error:
            raise CommandError(
                f"cannot use --ca-file {options.ca_file}: {error}", EXIT_USAGE
            ) from None
    async with UTDApi(
        app_id=options.app_id,
        app_secret=options.app_secret,
        base_url=options.base_url,
        ssl_context=context,
        allow_insecure=options.insecure,
        timeout=options.timeout,
    ) as api:
        try:
            yield api
        except UTDStreamError as error:
            explained = _explain(error, options)
            if explained is not None:
                raise explained from None
            raise


def add_backend_actions(actions: Subparsers) -> None:
    """Add ``broadcast``, ``list`` and ``users`` to ``utd-trio channel``."""
    broadcast = add_command(
        actions,
        "broadcast",
        _broadcast,
        summary="send an event to channels from the backend (server secret)",
        description="As your backend, send event EVENT with DATA (any JSON value: quote "
        "strings, '\"hi\"') to every subscriber of NAME (comma-separated for several; a "
        "name holding a comma itself needs the library's UTDApi.broadcast).",
    )
    broadcast.add_argument(
        "channels", type=channel_list, metavar="NAME", help="the channel(s), comma-separated"
    )
    broadcast.add_argument(
        "event", type=broadcast_event, metavar="EVENT", help="the event's name (not client-…)"
    )
    broadcast.add_argument("data", type=json_data, metavar="DATA", help="the event's data (JSON)")
    broadcast.add_argument(
        "--socket-id",
        metavar="ID",
        help="leave this socket out (the one whose action is echoed)",
    )
    add_backend_options(broadcast)
    listing = add_command(
        actions,
        "list",
        _list,
        summary="list the occupied channels (server secret)",
        description="As your backend, print every occupied channel with its subscriptions "
        "(and users, for presence- channels).",
    )
    listing.add_argument("--prefix", metavar="P", help="only channels whose name starts with P")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    add_backend_options(listing)
    users = add_command(
        actions,
        "users",
        _users,
        summary="list the users on a presence channel (server secret)",
        description="As your backend, print the user ids on presence channel NAME, one a line.",
    )
    users.add_argument("channel", type=presence_channel, metavar="NAME", help="the channel")
    users.add_argument("--json", action="store_true", help="print one JSON array")
    add_backend_options(users)


async def _broadcast(args: argparse.Namespace) -> int:
    options = backend_options(args)
    channels: list[str] = args.channels
    socket_id: str | None = args.socket_id
    if socket_id is not None and not socket_id.strip():
        raise CommandError("--socket-id must not be empty", EXIT_USAGE)
    async with open_backend(options) as api:
        await api.broadcast(channels, args.event, args.data, socket_id=socket_id)
    where = ", ".join(channels)
    write_line(sys.stdout, f"broadcast {args.event} to {where}: {compact_json(args.data)}")
    return EXIT_OK


async def _list(args: argparse.Namespace) -> int:
    options = backend_options(args)
    prefix: str | None = args.prefix
    if prefix is not None and not prefix:
        raise CommandError(
            "--prefix must not be empty (leave it out to list every channel)", EXIT_USAGE
        )
    async with open_backend(options) as api:
        channels = await api.channels(prefix)
    for name, counts in sorted(channels.items()):
        if args.json:
            write_line(sys.stdout, json.dumps({"channel": name, **counts}, ensure_ascii=False))
            continue
        parts = [f"{counts.get('subscription_count', 0)} subscription(s)"]
        if "user_count" in counts:
            parts.append(f"{counts['user_count']} user(s)")
        write_line(sys.stdout, f"{name}  {', '.join(parts)}")
    return EXIT_OK


async def _users(args: argparse.Namespace) -> int:
    options = backend_options(args)
    async with open_backend(options) as api:
        users = await api.channel_users(args.channel)
    if args.json:
        write_line(sys.stdout, json.dumps(list(users), ensure_ascii=False))
    else:
        for user in users:
            write_line(sys.stdout, user)
    return EXIT_OK
