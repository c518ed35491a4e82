"""Argument types that check a flag's value as the library would, and say so as argparse does.

A bad value then fails while parsing, with argparse's usual ``argument --user: ...`` line
(exit status 2), instead of a library ``ValueError`` naming a Python parameter later.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, cast

from .._protocol import _vocab as v
from .._protocol._channels import channel_kind, check_channel_name, compact_size
from .._protocol._validate import check_identity

__all__ = [
    "broadcast_event",
    "channel_list",
    "channel_name",
    "client_event",
    "identity",
    "identity_list",
    "json_data",
    "json_object",
    "presence_channel",
    "private_channel",
    "seconds",
]


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


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def channel_name(text: str) -> str:
    """A channel name as the engine accepts it (1-164 of ``A-Za-z0-9_-=@,.;``)."""
    try:
        return check_channel_name(text, "a channel name")
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def channel_list(text: str) -> list[str]:
    """Comma-separated channel names (``presence-room,news``), each checked."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more channel names, comma-separated")
    if len(names) > v.MAX_BROADCAST_CHANNELS:
        limit = v.MAX_BROADCAST_CHANNELS
        raise argparse.ArgumentTypeError(f"at most {limit} channels, got {len(names)}")
    return [channel_name(name) for name in dict.fromkeys(names)]


def private_channel(text: str) -> str:
    """A ``private-`` or ``presence-`` channel name (client events need one)."""
    name = channel_name(text)
    if channel_kind(name) == "public":
        raise argparse.ArgumentTypeError(
            f"{name!r} is a public channel; client events need a private- or presence- "
            f"channel (e.g. presence-{name})"
        )
    return name


def presence_channel(text: str) -> str:
    """A ``presence-`` channel name (only those have members)."""
    name = channel_name(text)
    if channel_kind(name) != "presence":
        raise argparse.ArgumentTypeError(
            f"only presence- channels have users; {name!r} is {channel_kind(name)}"
        )
    return name


def client_event(text: str) -> str:
    """A client event's name: ``client-…``, at most 200 characters."""
    prefix, limit = v.CLIENT_EVENT_PREFIX, v.CLIENT_EVENT_NAME_MAX
    if not text.startswith(prefix) or len(text) > limit:
        raise argparse.ArgumentTypeError(
            f"a client event's name starts with {prefix!r} and has at most {limit} "
            f"characters (e.g. {prefix}hello), got {_cut(text)!r}"
        )
    return text


def broadcast_event(text: str) -> str:
    """A broadcast event's name: 1-200 characters, not ``client-…`` (those are clients')."""
    prefix, limit = v.CLIENT_EVENT_PREFIX, v.CLIENT_EVENT_NAME_MAX
    if not text or len(text) > limit:
        raise argparse.ArgumentTypeError(f"must be 1-{limit} characters, got {_cut(text)!r}")
    if text.startswith(prefix):
        raise argparse.ArgumentTypeError(
            f"{prefix}… names are for client events (`utd-trio channel trigger`); "
            f"a broadcast needs another name, got {_cut(text)!r}"
        )
    return text


def json_data(text: str) -> Any:
    """Any JSON value of at most 10 KiB as compact JSON (an event's data)."""
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as error:
        hint = f"; a string needs JSON quotes: '{json.dumps(_cut(text, 20))}'"
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({error.msg} at column {error.colno}): {_cut(text)!r}{hint}"
        ) from None
    try:
        size = compact_size(value, "the data")
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if size > v.CHANNEL_EVENT_MAX_BYTES:
        raise argparse.ArgumentTypeError(
            f"{size} bytes as compact JSON; the limit is {v.CHANNEL_EVENT_MAX_BYTES}"
        )
    return value


def json_object(text: str) -> dict[str, Any]:
    """A JSON object of at most 1 KiB (a presence member's ``user_info``)."""
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({error.msg} at column {error.colno}): {_cut(text)!r}"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f'must be a JSON object like \'{{"name": "Alice"}}\', got {_cut(text)!r}'
        )
    info = cast("dict[str, Any]", value)
    try:
        size = compact_size(info, "the user info")
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if size > v.CHANNEL_USER_INFO_MAX_BYTES:
        limit = v.CHANNEL_USER_INFO_MAX_BYTES
        raise argparse.ArgumentTypeError(f"{size} bytes as compact JSON; the limit is {limit}")
    return info
