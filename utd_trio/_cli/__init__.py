"""The ``utd-trio`` command line.

Subcommands are discovered: every module ``utd_trio/_cli/_<name>.py`` that defines
``register(subparsers)`` adds itself (see :mod:`utd_trio._cli._common` for the contract),
so a new subcommand is one new module and no edit here.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
from collections.abc import Iterator, Sequence
from typing import cast

from ._common import Handler, Register

__all__ = ["build_parser", "main"]


def _registrars() -> Iterator[Register]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if not info.name.startswith("_") or info.name.startswith("__"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register: object = getattr(module, "register", None)
        if callable(register):
            yield cast("Register", register)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(
        prog="utd-trio", description="UTD-Stream signalling SDK tools (Trio)."
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``utd-trio`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: Handler = args.handler
    return handler(args)
