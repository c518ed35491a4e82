"""The subcommand contract and helpers shared by ``utd-trio`` subcommands.

A subcommand module ``utd_trio/_cli/_<name>.py`` defines::

    def register(subparsers: Subparsers) -> None:
        parser = subparsers.add_parser("name", help="...")
        parser.add_argument(...)
        parser.set_defaults(handler=run)

    def run(args: argparse.Namespace) -> int:   # the exit status
        return run_trio(_main, args)

Import optional dependencies (e.g. the engine extra) inside ``run``, not at module level, so
that one missing extra never breaks the other subcommands.

Client subcommands (``listen``, ``send``, ...) use `add_command` instead: it wires a
``async def body(args) -> int`` through `run_command`, which turns Ctrl-C into a clean
cancellation of the body (so every ``async with`` unwinds) and expected failures into one line
on stderr with a non-zero status. `add_client_options` and `open_client` give them the common
connection options (``--base-url``, ``--app-id``, ...) and the session.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import ssl
import sys
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import trio

from .. import Signaling, UTDApi, open_signaling
from .._errors import UTDStreamError
from .._protocol import _vocab as v
from .._protocol._urls import check_base_url
from ._flags import identity
from ._output import OutputClosed, involves
from ._report import (
    EXIT_FAILED,
    EXIT_USAGE,
    CommandError,
    error_line,
    lone_error,
    opening_error,
    speak_flags,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AsyncHandler",
    "ClientOptions",
    "CommandError",
    "Handler",
    "Register",
    "Subparsers",
    "add_client_options",
    "add_command",
    "client_options",
    "command_name",
    "error_line",
    "lone_error",
    "open_api",
    "open_client",
    "run_command",
    "run_trio",
    "say_interrupted",
]

EXIT_OK = 0
EXIT_INTERRUPTED = 130

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # pyright: ignore[reportPrivateUsage]
"""What ``register`` receives: ``parser.add_subparsers()``'s result."""

Handler: TypeAlias = Callable[[argparse.Namespace], int]
"""A subcommand's entry: parsed arguments in, exit status out."""

Register: TypeAlias = Callable[["Subparsers"], None]
"""A subcommand module's ``register(subparsers)``."""

AsyncHandler: TypeAlias = Callable[[argparse.Namespace], Awaitable[int]]
"""A client subcommand's async body: parsed arguments in, exit status out."""


def _only_keyboard_interrupts(error: BaseException) -> bool:
    if isinstance(error, KeyboardInterrupt):
        return True
    members: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    return (
        issubclass(type(error), BaseExceptionGroup)
        and bool(members)
        and all(_only_keyboard_interrupts(member) for member in members)
    )


def command_name(args: argparse.Namespace) -> str:
    """``listen``, ``group create``...: how the command was called, for its messages."""
    words = (getattr(args, "command", None), getattr(args, "action", None))
    return " ".join(word for word in words if word)


def say_interrupted(args: argparse.Namespace) -> None:
    """The one short stderr line of a command stopped by Ctrl-C."""
    command = command_name(args)
    print(
        f"utd-trio {command}: interrupted" if command else "utd-trio: interrupted",
        file=sys.stderr,
        flush=True,
    )


def run_trio(
    fn: Callable[[argparse.Namespace], Awaitable[int]],
    args: argparse.Namespace,
    *,
    interrupted: int = EXIT_INTERRUPTED,
) -> int:
    """``trio.run(fn, args)``; Ctrl-C (even inside exception groups) returns ``interrupted``."""
    try:
        return trio.run(fn, args)
    except BaseException as error:
        if _only_keyboard_interrupts(error):
            say_interrupted(args)
            return interrupted
        raise


# --- client subcommands: clean Ctrl-C and one-line failures --------------------------------


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


async def _cancel_on_sigint(
    body: trio.CancelScope, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """First Ctrl-C cancels ``body`` (a clean unwind); a second one raises KeyboardInterrupt."""
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            if body.cancel_called:
                raise KeyboardInterrupt
            body.cancel()


async def run_command(
    fn: AsyncHandler, args: argparse.Namespace, *, interrupted: int = EXIT_INTERRUPTED
) -> int:
    """Run a client subcommand's body and return its exit status.

    Ctrl-C (when running in the main thread) cancels the body, so its sessions close within
    their close timeout, prints ``utd-trio <command>: interrupted`` on stderr, and the status
    is ``interrupted`` (130). A closed stdout (``| head``) raises `OutputClosed` for ``main``.
    An expected failure (see `error_line`) is printed as ``utd-trio <command>: <reason>`` on
    stderr.
    """
    status = interrupted
    body = trio.CancelScope()
    try:
        async with trio.open_nursery() as nursery:
            if _in_main_thread():
                await nursery.start(_cancel_on_sigint, body)
            with body:
                status = await fn(args)
            nursery.cancel_scope.cancel()
        if body.cancelled_caught:  # only Ctrl-C cancels the body
            say_interrupted(args)
    except BaseException as raw:  # report expected failures, re-raise everything else
        if involves(raw, OutputClosed, BrokenPipeError):
            raise OutputClosed from None  # stdout's reader left: ``main`` exits quietly
        error = lone_error(raw)
        reported = error_line(error)
        if reported is None:
            if error is raw:
                raise
            raise error from None
        line, status = reported
        print(f"utd-trio {command_name(args)}: {line}", file=sys.stderr, flush=True)
    return status


def add_command(
    subparsers: Subparsers,
    name: str,
    body: AsyncHandler,
    *,
    summary: str,
    description: str,
    interrupted: int = EXIT_INTERRUPTED,
) -> argparse.ArgumentParser:
    """Add a client subcommand whose ``body`` runs under `run_command`.

    The parsed arguments carry ``handler`` (sync, for ``main``) and ``run_async`` (the same
    command as a coroutine function, for callers already inside Trio, e.g. tests).
    """
    parser = subparsers.add_parser(name, help=summary, description=description)
    run_async = functools.partial(run_command, body, interrupted=interrupted)
    handler = functools.partial(run_trio, run_async, interrupted=interrupted)
    parser.set_defaults(handler=handler, run_async=run_async)
    return parser


# --- connection options shared by the client subcommands -----------------------------------


@dataclass(frozen=True)
class ClientOptions:
    """Where and as whom a client subcommand connects."""

    base_url: str
    app_id: str
    app_key: str
    user: str
    name: str | None = None
    ca_file: Path | None = None
    insecure: bool = False
    connect_timeout: float = 10.0

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context trusting ``ca_file`` (plus nothing else), or None for the defaults."""
        if self.ca_file is None:
            return None
        try:
            return ssl.create_default_context(cafile=str(self.ca_file))
        except (OSError, ssl.SSLError) as error:
            raise CommandError(f"cannot use CA file {self.ca_file}: {error}", EXIT_USAGE) from None


def add_client_options(parser: argparse.ArgumentParser, *, display_name: bool = True) -> None:
    """Add ``--base-url``, ``--app-id``, ``--app-key``, ``--user`` and the TLS options.

    And ``--name`` (the display name) unless ``display_name`` is False (a command that uses
    ``--name`` for something else).
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--base-url", help=f"engine REST base URL (env UTD_BASE_URL; default {v.DEFAULT_BASE_URL})"
    )
    group.add_argument("--app-id", help="project app id (env UTD_APP_ID)")
    group.add_argument("--app-key", help="project app key (env UTD_APP_KEY)")
    group.add_argument("--user", required=True, type=identity, help="the identity to act as")
    if display_name:
        group.add_argument(
            "--name", dest="display_name", help="display name sent with the session mint"
        )
    group.add_argument("--ca-file", type=Path, help="PEM CA certificate to trust for https/wss")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http/ws to a non-loopback host (TLS is never unverified)",
    )
    group.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="give up when not connected within this time (default 10)",
    )


def client_options(args: argparse.Namespace) -> ClientOptions:
    """The connection options from ``args``, falling back on the ``UTD_*`` environment."""
    base_url = args.base_url or os.environ.get("UTD_BASE_URL") or v.DEFAULT_BASE_URL
    app_id = args.app_id or os.environ.get("UTD_APP_ID")
    app_key = args.app_key or os.environ.get("UTD_APP_KEY")
    if not app_id or not app_key:
        missing = " and ".join(
            flag for flag, value in (("--app-id", app_id), ("--app-key", app_key)) if not value
        )
        raise CommandError(f"missing {missing} (or UTD_APP_ID / UTD_APP_KEY)", EXIT_USAGE)
    if not args.connect_timeout > 0:
        raise CommandError("--connect-timeout must be > 0", EXIT_USAGE)
    try:
        base_url = check_base_url(base_url, allow_insecure=args.insecure)
    except ValueError as error:
        raise CommandError(speak_flags(str(error)), EXIT_USAGE) from None
    return ClientOptions(
        base_url=base_url,
        app_id=app_id,
        app_key=app_key,
        user=args.user,
        name=getattr(args, "display_name", None),
        ca_file=args.ca_file,
        insecure=args.insecure,
        connect_timeout=args.connect_timeout,
    )


@asynccontextmanager
async def open_client(
    options: ClientOptions, *, user: str | None = None
) -> AsyncGenerator[Signaling]:
    """`open_signaling` with ``options`` (as ``user`` when given, else ``options.user``).

    A failure to open that means "no engine at this URL" becomes a `CommandError` naming
    the URL (see `opening_error`); failures once open pass through unchanged.
    """
    opened = False
    try:
        async with open_signaling(
            app_id=options.app_id,
            app_key=options.app_key,
            user_id=user or options.user,
            name=options.name,
            base_url=options.base_url,
            ssl_context=options.ssl_context(),
            allow_insecure=options.insecure,
            connect_timeout=options.connect_timeout,
        ) as sig:
            opened = True
            yield sig
    except UTDStreamError as error:
        _explain_opening(error, options, opened)
        raise
    except BaseExceptionGroup as group:
        if isinstance(leaf := lone_error(group), UTDStreamError):
            _explain_opening(leaf, options, opened)
        raise


def _explain_opening(error: UTDStreamError, options: ClientOptions, opened: bool) -> None:
    """Raise `opening_error`'s explanation of a failure to open, if it has one."""
    if not opened and (explained := opening_error(error, options.base_url)) is not None:
        raise explained from error


@asynccontextmanager
async def open_api(options: ClientOptions) -> AsyncGenerator[UTDApi]:
    """A `UTDApi` with ``options``, holding a session minted for ``options.user``.

    For one-shot REST queries that need no socket (so the user does not appear online).
    """
    async with UTDApi(
        app_id=options.app_id,
        app_key=options.app_key,
        base_url=options.base_url,
        ssl_context=options.ssl_context(),
        allow_insecure=options.insecure,
        timeout=options.connect_timeout,
    ) as api:
        try:
            await api.mint_session(options.user, name=options.name)
        except UTDStreamError as error:
            _explain_opening(error, options, opened=False)
            raise
        yield api
