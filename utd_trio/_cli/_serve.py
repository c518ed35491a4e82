"""``utd-trio serve``: run the local reference engine until Ctrl-C (development only)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

import trio

from ._common import Subparsers, run_trio

__all__ = ["register"]


def register(subparsers: Subparsers) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="run the local reference engine (development only)",
        description="Run the UTD-Stream reference engine on this machine until Ctrl-C. "
        "It prints its base URL and its development credentials.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS/WSS (throwaway CA)")
    parser.add_argument("--ca-file", type=Path, help="with --tls: where to write the CA (PEM)")
    parser.add_argument("--app-id", default="app_test")
    parser.add_argument("--app-key", default="key_test")
    parser.add_argument("--app-secret", default="secret_test")
    parser.add_argument("--no-signaling", action="store_true", help="plan without signalling")
    parser.add_argument("--no-chat", action="store_true", help="plan without chat")
    parser.add_argument(
        "--hardened", action="store_true", help="refuse app-key mints (server-signed only)"
    )
    parser.add_argument("--heartbeat-interval", type=float, default=25.0, metavar="SECONDS")
    parser.add_argument("--ring-timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--token-ttl", type=float, default=3600.0, metavar="SECONDS")
    parser.add_argument(
        "--mint-rate-limit",
        type=int,
        default=120,
        metavar="N",
        help="mints per identity per minute; 0 = unlimited",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Entry of ``utd-trio serve``."""
    return run_trio(_serve, args, interrupted=0)


async def _serve(args: argparse.Namespace) -> int:
    try:
        from utd_trio.testing._engine import open_engine
        from utd_trio.testing._project import ProjectConfig
    except ImportError as error:
        print(f"utd-trio serve needs the engine extra: pip install 'utd-trio[engine]' ({error})")
        return 2
    project = ProjectConfig(
        app_id=args.app_id,
        app_key=args.app_key,
        app_secret=args.app_secret,
        signaling_enabled=not args.no_signaling,
        chat_enabled=not args.no_chat,
        allow_appkey_identity_mint=not args.hardened,
    )
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with open_engine(
            [project],
            tls=args.tls,
            host=args.host,
            port=args.port,
            heartbeat_interval=args.heartbeat_interval,
            ring_timeout=args.ring_timeout,
            token_ttl=args.token_ttl,
            mint_rate_limit=args.mint_rate_limit or None,
        ) as engine:
            lines = [
                "UTD-Stream reference engine (development only)",
                f"  base URL:   {engine.base_url}",
                f"  ws URL:     {engine.ws_url}",
                f"  app id:     {project.app_id}",
                f"  app key:    {project.app_key}",
                f"  app secret: {project.app_secret}",
            ]
            if args.tls:
                default = Path(tempfile.gettempdir()) / f"utd-trio-ca-{os.getpid()}.pem"
                ca_file: Path = args.ca_file or default
                await trio.Path(ca_file).write_bytes(engine.ca_pem())
                lines.append(f"  CA cert:    {ca_file}")
            lines.append("Press Ctrl-C to stop.")
            print("\n".join(lines), flush=True)
            async for signum in signals:
                print(f"stopping ({signal.Signals(signum).name})", file=sys.stderr, flush=True)
                break
    return 0
