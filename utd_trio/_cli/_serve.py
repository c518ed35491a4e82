"""``utd-trio serve``: run the local reference engine until Ctrl-C (development only).

Bad arguments never end in a traceback: a value out of range is refused by the parser
(``error: argument --port: ...``, status 2), and what only fails at start-up (a busy port, an
unknown host, an unwritable ``--ca-file``, a missing or invalid ``--config``) is one line
``utd-trio serve: error: --flag VALUE: reason`` on stderr, status 2 for a bad file or flag value
and 1 for a bind failure. Ctrl-C exits 130 and SIGTERM 143, after every socket got 1001.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import math
import os
import signal
import socket
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from ._common import EXIT_FAILED, EXIT_USAGE, Subparsers, run_trio

if TYPE_CHECKING:
    from utd_trio.testing._config_file import EngineConfig
    from utd_trio.testing._engine import Engine
    from utd_trio.testing._project import ProjectConfig

__all__ = ["register"]

PROJECT_FLAGS = ("app_id", "app_key", "app_secret", "no_signaling", "no_chat", "hardened")
TIMER_DEFAULTS = {"heartbeat_interval": 25.0, "ring_timeout": 30.0, "token_ttl": 3600.0}


class _StartError(Exception):
    """A start-up failure to print as one line: ``(message, exit status)``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535; 0 picks a free one)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def _rate(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 (unlimited) or more")
    return value


def register(subparsers: Subparsers) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="run the local reference engine (development only)",
        description="Run the UTD-Stream reference engine on this machine until Ctrl-C. "
        "It prints its base URL and every project's development credentials. "
        "One project from the flags, or several from --config FILE.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="numeric bind address (default: 127.0.0.1)")
    add("--port", type=_port, default=8080, help="port, 0 picks a free one (default: 8080)")
    add("--tls", action="store_true", help="serve HTTPS/WSS with a throwaway CA (default: off)")
    add(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="with --tls: where to write the CA certificate, PEM (default: a temp file)",
    )
    add(
        "--control",
        action="store_true",
        help="serve the test control plane under /_control/ to loopback clients (default: off)",
    )
    add(
        "--config",
        type=Path,
        metavar="FILE",
        help="JSON file of projects, banned users and timers (contract §12); "
        "replaces the project flags below (default: none)",
    )
    add("--app-id", help="the project's app id (default: app_test)")
    add("--app-key", help="the project's publishable app key (default: key_test)")
    add("--app-secret", help="the project's server secret (default: secret_test)")
    add("--no-signaling", action="store_true", default=None, help="plan without signalling")
    add("--no-chat", action="store_true", default=None, help="plan without chat")
    add("--hardened", action="store_true", default=None, help="refuse app-key mints")
    for name, default in TIMER_DEFAULTS.items():
        add(
            "--" + name.replace("_", "-"),
            type=_seconds,
            metavar="SECONDS",
            help=f"{name.replace('_', ' ')} (default: {default:g}, or the --config file's)",
        )
    add(
        "--mint-rate-limit",
        type=_rate,
        metavar="N",
        help="mints per identity per minute, 0 = unlimited (default: 120, or --config's)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Entry of ``utd-trio serve``."""
    return run_trio(_serve, args)


def _fail(message: str) -> None:
    print(f"utd-trio serve: error: {message}", file=sys.stderr, flush=True)


def _flag_project(args: argparse.Namespace) -> ProjectConfig:
    from utd_trio.testing._project import ProjectConfig

    return ProjectConfig(
        app_id=args.app_id or "app_test",
        app_key=args.app_key or "key_test",
        app_secret=args.app_secret or "secret_test",
        signaling_enabled=not args.no_signaling,
        chat_enabled=not args.no_chat,
        allow_appkey_identity_mint=not args.hardened,
    )


def _load(args: argparse.Namespace) -> EngineConfig:
    from utd_trio.testing._config_file import ConfigError, EngineConfig, load_config

    if args.config is None:
        return EngineConfig(projects=(_flag_project(args),))
    given = [f"--{n.replace('_', '-')}" for n in PROJECT_FLAGS if getattr(args, n) is not None]
    if given:
        raise _StartError(f"--config cannot be combined with {', '.join(given)}", EXIT_USAGE)
    try:
        return load_config(args.config)
    except ConfigError as error:
        raise _StartError(f"--config {error}", EXIT_USAGE) from None


def _engine_kwargs(args: argparse.Namespace, config: EngineConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        name: getattr(args, name) or config.timers.get(name, default)
        for name, default in TIMER_DEFAULTS.items()
    }
    if args.mint_rate_limit is not None:
        kwargs["mint_rate_limit"] = args.mint_rate_limit or None
    elif config.sets_mint_rate_limit:
        kwargs["mint_rate_limit"] = config.mint_rate_limit
    return kwargs


def _bind_error(args: argparse.Namespace, error: OSError) -> _StartError:
    reason = error.strerror or str(error)
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        return _StartError(f"--host {args.host}: cannot listen there ({reason})", EXIT_FAILED)
    if error.errno == errno.EADDRINUSE:
        return _StartError(f"--port {args.port}: address already in use", EXIT_FAILED)
    return _StartError(f"--host {args.host} --port {args.port}: cannot listen ({reason})", 1)


def _plan(project: ProjectConfig) -> str:
    def flag(value: bool | None) -> str:
        return "absent" if value is None else ("on" if value else "off")

    mints = "app-key mints" if project.allow_appkey_identity_mint else "hardened (secret only)"
    limits = "no limits" if project.limits is None else f"limits {dict(project.limits)}"
    flags = f"signaling {flag(project.signaling_enabled)}, chat {flag(project.chat_enabled)}"
    return f"{flags}, {limits}, {mints}"


def _banner(engine: Engine, args: argparse.Namespace, config: EngineConfig) -> list[str]:
    lines = [
        "UTD-Stream reference engine (development only)",
        f"  base URL:   {engine.base_url}",
        f"  ws URL:     {engine.ws_url}",
    ]
    if engine.control_url is not None:
        lines.append(f"  control:    {engine.control_url}/ (loopback clients only)")
    for project in config.projects:
        current = engine.project(project.app_id)
        lines += [
            f"  app id:     {current.app_id}",
            f"  app key:    {current.app_key}",
            f"  app secret: {current.app_secret}",
            f"  plan:       {_plan(current)}",
        ]
    for app_id, user in config.banned:
        lines.append(f"  banned:     {app_id}/{user}")
    return lines


async def _start(
    stack: AsyncExitStack, args: argparse.Namespace, config: EngineConfig
) -> list[str]:
    from utd_trio.testing._engine import open_engine

    try:
        engine = await stack.enter_async_context(
            open_engine(
                config.projects,
                tls=args.tls,
                host=args.host,
                port=args.port,
                control_http=args.control,
                **_engine_kwargs(args, config),
            )
        )
    except OSError as error:
        raise _bind_error(args, error) from None
    for app_id, user in config.banned:
        await engine.ban(user, app_id)
    lines = _banner(engine, args, config)
    if args.tls:
        default = Path(tempfile.gettempdir()) / f"utd-trio-ca-{os.getpid()}.pem"
        ca_file: Path = args.ca_file or default
        try:
            await trio.Path(ca_file).write_bytes(engine.ca_pem())
        except OSError as error:
            reason = error.strerror or str(error)
            raise _StartError(
                f"--ca-file {ca_file}: cannot write it ({reason})", EXIT_USAGE
            ) from None
        lines.append(f"  CA cert:    {ca_file}")
    return lines


async def _serve(args: argparse.Namespace) -> int:
    try:
        importlib.import_module("utd_trio.testing._engine")  # the engine extra is installed
    except ImportError as error:
        _fail(f"serve needs the engine extra: pip install 'utd-trio[engine]' ({error})")
        return EXIT_USAGE
    if args.ca_file is not None and not args.tls:
        _fail("--ca-file needs --tls")
        return EXIT_USAGE
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with AsyncExitStack() as stack:
            try:
                config = _load(args)
                lines = await _start(stack, args, config)
            except _StartError as error:
                _fail(str(error))
                return error.status
            lines.append("Press Ctrl-C to stop.")
            print("\n".join(lines), flush=True)
            async for signum in signals:
                name = signal.Signals(signum).name
                print(f"stopping ({name})", file=sys.stderr, flush=True)
                return 128 + signum
    return EXIT_FAILED  # pragma: no cover - the signal loop only ends by returning
