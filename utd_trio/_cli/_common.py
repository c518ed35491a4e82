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
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import trio

__all__ = ["Handler", "Register", "Subparsers", "run_trio"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # pyright: ignore[reportPrivateUsage]
"""What ``register`` receives: ``parser.add_subparsers()``'s result."""

Handler: TypeAlias = Callable[[argparse.Namespace], int]
"""A subcommand's entry: parsed arguments in, exit status out."""

Register: TypeAlias = Callable[["Subparsers"], None]
"""A subcommand module's ``register(subparsers)``."""


def _only_keyboard_interrupts(error: BaseException) -> bool:
    if isinstance(error, KeyboardInterrupt):
        return True
    members: tuple[BaseException, ...] = getattr(error, "exceptions", ())
    return (
        issubclass(type(error), BaseExceptionGroup)
        and bool(members)
        and all(_only_keyboard_interrupts(member) for member in members)
    )


def run_trio(
    fn: Callable[[argparse.Namespace], Awaitable[int]],
    args: argparse.Namespace,
    *,
    interrupted: int = 130,
) -> int:
    """``trio.run(fn, args)``; Ctrl-C (even inside exception groups) returns ``interrupted``."""
    try:
        return trio.run(fn, args)
    except BaseException as error:
        if _only_keyboard_interrupts(error):
            print(file=sys.stderr)
            return interrupted
        raise
