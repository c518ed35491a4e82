"""Channel REST routes of the reference engine: backend broadcast and the dev grant [§11].

Backend routes (the customer's backend: ``X-App-Id`` + ``X-App-Secret``; a wrong or missing
secret, or an app key or a user token instead → 401 ``Invalid credentials``). Order of checks:
401 → body / query (422, 413) → 403 ``feature_disabled`` (the ``signaling`` gate).

- ``POST /api/v1/channels/events {"name", "channels", "data", "socket_id"?}`` → ``{"ok":
  true}``: ``name`` 1–200 chars, not ``client-…``; ``channels`` 1–100 valid names (a name given
  twice delivers once); ``data`` present (any JSON value) and ≤ 10 KiB compact JSON (else
  413); ``socket_id`` (``null`` = absent) must look like ``1234.5678`` and excludes that one
  socket. Each socket holding a channel gets ``channel.event`` without ``user_id``.
- ``GET /api/v1/channels?prefix=`` → ``{"data": [{"channel", "subscription_count",
  "user_count"?}]}``: occupied channels only, sorted by name; ``user_count`` on presence ones.
- ``GET /api/v1/channels/{name}/users`` (name percent-encoded) → ``{"data": [{"user_id"}]}``
  in join order; an unoccupied presence channel → ``{"data": []}``; not presence → 422.

Development grant endpoint ``POST /api/v1/channels/auth`` (Bearer ``user_token``): body JSON
``{"socket_id", "channel_name", "user_info"?}`` or a form whose ``user_info`` is a JSON string.
Order: 401 (bearer; a banned user then gets 403 ``banned``) → 422 (body; a public channel
needs no grant) → 403 ``feature_disabled`` → 403 ``appkey_identity_mint_disabled`` (a
hardened project) → 403 ``forbidden`` (``socket_id`` is not a live socket of the bearer's
user). Answers ``{"auth"}`` for a private channel (``user_info`` is ignored there) and
``{"auth", "channel_data"}`` for a presence one, ``channel_data`` being compact JSON of
``{"user_id", "user_info"?}`` (``user_info`` only when given).
"""

from __future__ import annotations

import hmac
import json
from typing import Final, cast
from urllib.parse import parse_qsl

from ._channel_grants import (
    MAX_EVENT_DATA,
    channel_kind,
    check_channel_name,
    check_socket_id,
    check_user_info,
    compact_json,
    json_size,
    make_grant,
)
from ._channel_table import ChannelTable
from ._errors import EngineError, JSONObject
from ._project import ProjectConfig
from ._registry import Registry
from ._rest import MAX_JSON_BODY, RestContext, read_body
from ._unicode import check_unicode

__all__ = ["MAX_BROADCAST_CHANNELS", "MAX_EVENT_NAME", "install"]

MAX_BROADCAST_CHANNELS: Final = 100
"""Most channel names one broadcast may carry."""
MAX_EVENT_NAME: Final = 200
"""Longest broadcast event name (characters)."""

INVALID_CREDENTIALS: Final = "Invalid credentials"

_EVENTS = "/api/v1/channels/events"
_CHANNELS = "/api/v1/channels"
_USERS = "/api/v1/channels/{name:path}/users"
_AUTH = "/api/v1/channels/auth"


def _invalid(message: str) -> EngineError:
    return EngineError(422, "invalid", message)


def _backend(ctx: RestContext) -> ProjectConfig:
    """The project of a backend call with the right server secret, else 401."""
    headers = ctx.request.headers
    app_id = headers.get("x-app-id")
    secret = headers.get("x-app-secret")
    project = ctx.state.projects.get(app_id) if app_id else None
    if (
        project is None
        or secret is None
        or not hmac.compare_digest(secret.encode(), project.app_secret.encode())
    ):
        raise EngineError(401, None, INVALID_CREDENTIALS)
    return project


def _event_name(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_EVENT_NAME
        or value.startswith("client-")
    ):
        raise _invalid(f"name must be 1-{MAX_EVENT_NAME} characters and not start with 'client-'")
    return value


def _channel_list(value: object) -> list[str]:
    if not isinstance(value, list):
        raise _invalid("channels must be an array of channel names")
    items = cast(list[object], value)
    if not 1 <= len(items) <= MAX_BROADCAST_CHANNELS:
        raise _invalid(f"channels must hold 1-{MAX_BROADCAST_CHANNELS} names")
    return list(dict.fromkeys(check_channel_name(item, "channels") for item in items))


async def _broadcast(ctx: RestContext) -> JSONObject:
    project = _backend(ctx)
    body = await ctx.json()
    name = _event_name(body.get("name"))
    channels = _channel_list(body.get("channels"))
    if "data" not in body:
        raise _invalid("data is required (any JSON value)")
    data: object = body["data"]
    raw_socket_id: object = body.get("socket_id")
    skip = None if raw_socket_id is None else check_socket_id(raw_socket_id)
    try:
        size = json_size(data)
    except (ValueError, RecursionError):
        raise _invalid("data is not serialisable JSON") from None
    if size > MAX_EVENT_DATA:
        raise EngineError(413, "too_large", f"data is over {MAX_EVENT_DATA} bytes")
    ctx.state.check_gate(project.app_id, "signaling")
    table = ctx.state.domain(ChannelTable)
    for channel_name in channels:
        channel = table.get(project.app_id, channel_name)
        if channel is not None:
            message = {"channel": channel_name, "event": name, "data": data}
            channel.send("channel.event", message, skip=skip)
    return {"ok": True}


async def _list_channels(ctx: RestContext) -> JSONObject:
    project = _backend(ctx)
    prefix = ctx.request.query_params.get("prefix") or ""
    ctx.state.check_gate(project.app_id, "signaling")
    rows: list[JSONObject] = []
    for channel in ctx.state.domain(ChannelTable).occupied(project.app_id):
        if not channel.name.startswith(prefix):
            continue
        row: JSONObject = {"channel": channel.name, "subscription_count": len(channel.sockets)}
        if channel.kind == "presence":
            row["user_count"] = len(channel.members)
        rows.append(row)
    return {"data": rows}


async def _channel_users(ctx: RestContext) -> JSONObject:
    project = _backend(ctx)
    name = check_channel_name(ctx.request.path_params.get("name"))
    if channel_kind(name) != "presence":
        raise _invalid("Only presence channels have users")
    ctx.state.check_gate(project.app_id, "signaling")
    channel = ctx.state.domain(ChannelTable).get(project.app_id, name)
    users = [] if channel is None else list(channel.members)
    return {"data": [{"user_id": user_id} for user_id in users]}


async def _grant_fields(ctx: RestContext) -> JSONObject:
    """The grant request as a dict, from JSON or from a form (422 if neither parses)."""
    content_type = ctx.request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return await ctx.json()
    raw = await read_body(ctx.request, MAX_JSON_BODY)
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _invalid("The form body is not valid UTF-8") from None
    fields: JSONObject = dict(pairs)
    check_unicode(fields, "body")
    if "user_info" in fields:
        try:
            fields["user_info"] = json.loads(fields["user_info"])
        except (ValueError, RecursionError):
            raise _invalid("user_info must be a JSON object (as a JSON string in a form)") from None
    return fields


async def _dev_grant(ctx: RestContext) -> JSONObject:
    user = ctx.user
    fields = await _grant_fields(ctx)
    socket_id = check_socket_id(fields.get("socket_id"))
    name = check_channel_name(fields.get("channel_name"), "channel_name")
    kind = channel_kind(name)
    if kind == "public":
        raise _invalid("Public channels need no grant")
    raw_info: object = fields.get("user_info")
    user_info = check_user_info(raw_info)
    ctx.state.check_gate(user.app_id, "signaling")
    if not user.project.allow_appkey_identity_mint:
        raise EngineError(
            403,
            "appkey_identity_mint_disabled",
            "This project signs no development grants; sign grants on your backend",
        )
    live = {s.socket_id for s in ctx.state.sockets.of_user(user.app_id, user.user_id)}
    if socket_id not in live:
        raise EngineError(403, "forbidden", "socket_id is not a live socket of this user")
    if kind == "private":
        return make_grant(user.project, socket_id, name)
    member: JSONObject = {"user_id": user.user_id}
    if raw_info is not None:
        member["user_info"] = user_info
    return make_grant(user.project, socket_id, name, compact_json(member))


def install(registry: Registry) -> None:
    """Register the backend channel routes and the development grant endpoint."""
    registry.route(_EVENTS, _broadcast, methods=["POST"], auth=False)
    registry.route(_AUTH, _dev_grant, methods=["POST"])
    registry.route(_CHANNELS, _list_channels, methods=["GET"], auth=False)
    registry.route(_USERS, _channel_users, methods=["GET"], auth=False)
