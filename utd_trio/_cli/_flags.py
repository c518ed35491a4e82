"""Argument types that check a flag's value as the library would, and say so as argparse does.

A bad value then fails while parsing, with argparse's usual ``argument --user: ...`` line
(exit status 2), instead of a library ``ValueError`` naming a Python parameter later.
"""

from __future__ import annotations

import argparse
import math

from .._protocol._validate import check_identity

__all__ = ["identity", "identity_list", "seconds"]


def seconds(text: str) -> float:
    """A finite number of seconds >= 0 (``--duration 0.5``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


def identity(text: str) -> str:
    """A user id as the engine accepts it (1-128 characters of ``[A-Za-z0-9_.@-]``)."""
    try:
        return check_identity(text, field="the user id")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def identity_list(text: str) -> list[str]:
    """Comma-separated user ids (``bob,carol``), each checked like `identity`."""
    users = [part.strip() for part in text.split(",") if part.strip()]
    if not users:
        raise argparse.ArgumentTypeError("expected one or more user ids, comma-separated")
    return [identity(user) for user in users]
