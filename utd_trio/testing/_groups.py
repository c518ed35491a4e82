"""Groups domain of the reference engine: the REST routes of protocol §4 (gated by chat).

The rules live in :class:`~._groups_state.GroupStore`; this module validates bodies (422
first, before any group rule), applies the change and pushes ``group.updated`` (the group
object plus ``change`` and ``user_ids``) to every socket of the members *before and after*
the change, so a removed member hears of their removal and a new member of their arrival.

``user_ids`` names the users a change is about: ``created`` → every initial member (owner
first); ``member_added`` → the users actually added; ``member_removed`` / ``role_changed`` →
the target; ``left`` → the leaver (the group object shows any new owner); ``renamed`` → none
(omitted). A request that changes nothing (adding only existing members, a PATCH without
``name``) answers the group and sends no event.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.responses import Response

from ._errors import EngineError, JSONObject
from ._groups_state import ADMIN, MEMBER, GroupRecord, GroupStore, Role
from ._registry import Registry
from ._rest import RestContext, json_response
from ._state import EngineState

__all__ = ["EVENT_GROUP_UPDATED", "MAX_GROUP_NAME", "install"]

EVENT_GROUP_UPDATED: Final = "group.updated"
"""The server → client event of every group change [protocol §7]."""

MAX_GROUP_NAME: Final = 200
"""Longest group name, in characters (after stripping surrounding blanks)."""

_IDENTITY: Final = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
_ROLES: Final[dict[str, Role]] = {"admin": ADMIN, "member": MEMBER}

_GROUPS = "/api/v1/chat/groups"
_GROUP = _GROUPS + "/{gid}"


def _invalid(message: str) -> EngineError:
    return EngineError(422, "invalid", message)


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("name must be a non-empty string")
    name = value.strip()
    if len(name) > MAX_GROUP_NAME:
        raise _invalid(f"name is longer than {MAX_GROUP_NAME} characters")
    return name


def _user_ids(value: object, field: str) -> list[str]:
    if not isinstance(value, list):
        raise _invalid(f"{field} must be a list of user ids")
    ids: list[str] = []
    for item in value:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(item, str) or _IDENTITY.fullmatch(item) is None:
            raise _invalid(f"{field} must hold user ids of 1..128 characters [A-Za-z0-9_.@-]")
        ids.append(item)
    return list(dict.fromkeys(ids))


def _limit(ctx: RestContext, key: str) -> int | None:
    limits = ctx.user.project.limits
    return None if limits is None else limits.get(key)


def _publish(
    state: EngineState,
    app_id: str,
    group: GroupRecord,
    change: str,
    before: tuple[str, ...],
    user_ids: list[str] | None,
) -> None:
    """Send ``group.updated`` to every socket of the members before and after the change."""
    data: JSONObject = group.wire()
    data["change"] = change
    if user_ids is not None:
        data["user_ids"] = list(user_ids)
    for user in dict.fromkeys((*before, *group.members)):
        for session in state.sockets.of_user(app_id, user):
            session.send(EVENT_GROUP_UPDATED, dict(data))


async def _create(ctx: RestContext) -> Response:
    body = await ctx.json()
    name = _name(body.get("name"))
    raw_members = body.get("member_ids", [])
    member_ids = _user_ids(raw_members, "member_ids")
    user = ctx.user
    group = ctx.state.domain(GroupStore).create(
        user.app_id,
        user.user_id,
        name,
        member_ids,
        created_at=ctx.state.timestamp(),
        max_members=_limit(ctx, "max_group_members"),
        max_owned=_limit(ctx, "max_chatrooms"),
    )
    _publish(ctx.state, user.app_id, group, "created", (), list(group.members))
    return json_response(group.wire(), 201)


async def _list(ctx: RestContext) -> JSONObject:
    groups = ctx.state.domain(GroupStore).of_user(ctx.user.app_id, ctx.user.user_id)
    return {"data": [group.wire() for group in groups]}


async def _get(ctx: RestContext) -> JSONObject:
    gid = ctx.request.path_params["gid"]
    return ctx.state.domain(GroupStore).require(ctx.user.app_id, gid, ctx.user.user_id).wire()


async def _rename(ctx: RestContext) -> JSONObject:
    body = await ctx.json()
    gid, user = ctx.request.path_params["gid"], ctx.user
    store = ctx.state.domain(GroupStore)
    if "name" not in body:
        return store.require(user.app_id, gid, user.user_id).wire()
    group = store.rename(user.app_id, gid, user.user_id, _name(body["name"]))
    _publish(ctx.state, user.app_id, group, "renamed", tuple(group.members), None)
    return group.wire()


async def _add(ctx: RestContext) -> JSONObject:
    body = await ctx.json()
    user_ids = _user_ids(body.get("user_ids"), "user_ids")
    if not user_ids:
        raise _invalid("user_ids must name at least one user")
    gid, user = ctx.request.path_params["gid"], ctx.user
    group, added = ctx.state.domain(GroupStore).add(
        user.app_id, gid, user.user_id, user_ids, max_members=_limit(ctx, "max_group_members")
    )
    if added:
        before = tuple(u for u in group.members if u not in added)
        _publish(ctx.state, user.app_id, group, "member_added", before, added)
    return group.wire()


async def _remove(ctx: RestContext) -> JSONObject:
    gid, target = ctx.request.path_params["gid"], ctx.request.path_params["uid"]
    user = ctx.user
    store = ctx.state.domain(GroupStore)
    before = tuple(store.require(user.app_id, gid, user.user_id).members)
    group = store.remove(user.app_id, gid, user.user_id, target)
    _publish(ctx.state, user.app_id, group, "member_removed", before, [target])
    return group.wire()


async def _set_role(ctx: RestContext) -> JSONObject:
    body = await ctx.json()
    role = _ROLES.get(body["role"]) if isinstance(body.get("role"), str) else None
    if role is None:
        raise _invalid("role must be 'admin' or 'member'")
    gid, target = ctx.request.path_params["gid"], ctx.request.path_params["uid"]
    user = ctx.user
    group = ctx.state.domain(GroupStore).set_role(user.app_id, gid, user.user_id, target, role)
    _publish(ctx.state, user.app_id, group, "role_changed", tuple(group.members), [target])
    return group.wire()


async def _leave(ctx: RestContext) -> JSONObject:
    gid, user = ctx.request.path_params["gid"], ctx.user
    result = ctx.state.domain(GroupStore).leave(user.app_id, gid, user.user_id)
    _publish(ctx.state, user.app_id, result.group, "left", result.before, [user.user_id])
    return {"ok": True}


def install(registry: Registry) -> None:
    """Register the group routes (bearer, gated by chat)."""
    registry.route(_GROUPS, _create, methods=["POST"], gate="chat")
    registry.route(_GROUPS, _list, methods=["GET"], gate="chat")
    registry.route(_GROUP, _get, methods=["GET"], gate="chat")
    registry.route(_GROUP, _rename, methods=["PATCH"], gate="chat")
    registry.route(_GROUP + "/members", _add, methods=["POST"], gate="chat")
    registry.route(_GROUP + "/members/{uid}", _remove, methods=["DELETE"], gate="chat")
    registry.route(_GROUP + "/members/{uid}/role", _set_role, methods=["PUT"], gate="chat")
    registry.route(_GROUP + "/leave", _leave, methods=["POST"], gate="chat")
