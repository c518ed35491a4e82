"""The ``utd-trio`` command line.

Subcommands are discovered: every module ``utd_trio/_cli/_<name>.py`` that defines
``register(subparsers)`` adds itself (see `utd_trio._cli._common` for the contract),
so a new subcommand is one new module and no edit here.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import pkgutil
import re
from collections.abc import Iterator, Sequence
from typing import NoReturn, cast

from .. import __version__
from ._common import Handler, Register, Subparsers
from ._output import EXIT_BROKEN_PIPE, OutputClosed, involves, silence_stdout

__all__ = ["build_parser", "main"]


def _registrars() -> Iterator[Register]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if not info.name.startswith("_") or info.name.startswith("__"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register: object = getattr(module, "register", None)
        if callable(register):
            yield cast("Register", register)


class _HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help unless it names its default already.

    Unlike `argparse.ArgumentDefaultsHelpFormatter`, silent about ``None``/``False``/``[]``
    defaults (they mean "not given", and "(default: None)" says nothing).
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default: object = action.default
        if (
            not action.option_strings
            or "default" in text
            or default in (None, False, argparse.SUPPRESS)
            or default == []
        ):
            return action.help
        return f"{text} (default: %(default)s)".lstrip()


class _Parser(argparse.ArgumentParser):
    """The top-level parser: suggests the closest command for a mistyped one.

    Python's own ``suggest_on_error`` exists only from 3.14 and the project supports 3.11,
    so this is `difflib` (standard library) in a few lines rather than a CLI framework.
    """

    commands: Sequence[str] = ()

    def error(self, message: str) -> NoReturn:
        """Print usage and ``message`` (plus a suggestion) on stderr and exit 2."""
        typo = re.match(r"argument COMMAND: invalid choice: '?([^' ]*)'?", message)
        if typo is not None:
            close = difflib.get_close_matches(typo[1], self.commands, n=1, cutoff=0.6)
            if close:
                message = f"unknown command {typo[1]!r}: did you mean {close[0]!r}?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = _Parser(
        prog="utd-trio",
        description="UTD-Stream signalling SDK tools (Trio).",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"utd-trio {__version__}")
    verbose = "more logging (-v info, -vv debug); also accepted after the command"
    parser.add_argument("-v", "--verbose", action="count", default=0, help=verbose)
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=argparse.ArgumentParser
    )
    for register in _registrars():
        register(subparsers)
    _finish(subparsers, verbose)
    parser.commands = sorted(subparsers.choices)
    return parser


def _finish(subparsers: Subparsers, verbose: str) -> None:
    """Every (nested) subcommand shows defaults in its help and accepts ``-v`` after it."""
    for sub in subparsers.choices.values():
        sub.formatter_class = _HelpFormatter
        sub.add_argument(  # SUPPRESS: a nested command's parser must not reset the count
            "-v",
            "--verbose",
            dest="verbose_after",
            action="count",
            default=argparse.SUPPRESS,
            help=verbose,
        )
        for action in sub._actions:  # pyright: ignore[reportPrivateUsage]
            if isinstance(action, argparse._SubParsersAction):  # pyright: ignore[reportPrivateUsage]
                _finish(cast("Subparsers", action), verbose)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``utd-trio`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbosity = args.verbose + getattr(args, "verbose_after", 0)
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler: Handler = args.handler
    try:
        return handler(args)
    except BaseException as error:
        if not involves(error, OutputClosed, BrokenPipeError):
            raise
        silence_stdout()  # stdout's reader left (``| head``): stop quietly, see _output.py
        return EXIT_BROKEN_PIPE
