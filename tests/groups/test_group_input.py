"""Bad input (client ValueError, engine 422) and the chat gate on the group verbs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from utd_trio import ConnectionState, ErrorCode, Signaling, UTDStreamError
from utd_trio.testing import Engine

from ._helpers import apis, peers, raw

pytestmark = pytest.mark.both_loops

GROUPS = "/api/v1/chat/groups"


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"member_ids": []}, "name"),
        ({"name": "  ", "member_ids": []}, "name"),
        ({"name": "x" * 201, "member_ids": []}, "name"),
        ({"name": "team", "member_ids": "bob"}, "member_ids"),
        ({"name": "team", "member_ids": ["bad id!"]}, "member_ids"),
        ({"name": "team", "member_ids": [7]}, "member_ids"),
    ],
)
async def test_engine_refuses_a_bad_create_body_with_422(
    utd_engine: Engine, body: dict[str, Any], word: str
) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice") as (alice,):
            response = await raw(alice, "POST", GROUPS, body)
            assert response.status_code == 422
            assert word in response.json()["message"]
            assert await alice.list_groups() == ()


async def test_engine_refuses_bad_member_role_and_rename_bodies_with_422(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with apis(utd_engine, "alice") as (alice,):
            gid = (await alice.create_group("team", ["bob"])).group_id
            base = f"{GROUPS}/{gid}"
            bad: list[tuple[str, str, dict[str, Any] | None]] = [
                ("POST", f"{base}/members", {"user_ids": []}),
                ("POST", f"{base}/members", {"user_ids": ["ok", ""]}),
                ("PUT", f"{base}/members/bob/role", {"role": "owner"}),
                ("PUT", f"{base}/members/bob/role", {}),
                ("PATCH", base, {"name": 5}),
                ("PATCH", base, None),
            ]
            for method, path, body in bad:
                response = await raw(alice, method, path, body)
                assert response.status_code == 422, (method, path, body)
            unchanged = await raw(alice, "PATCH", base, {})  # nothing to change: 200
            assert unchanged.status_code == 200
            assert unchanged.json()["name"] == "team"


GroupCall = Callable[[Signaling], Awaitable[object]]

BAD_CALLS: list[tuple[GroupCall, str]] = [
    (lambda s: s.create_group("", ["bob"]), "name"),
    (lambda s: s.create_group("team", ["bad id!"]), "member_ids"),
    (lambda s: s.create_group("team", "bob"), "member_ids"),
    (lambda s: s.get_group(""), "group_id"),
    (lambda s: s.rename_group("grp_x", ""), "name"),
    (lambda s: s.add_group_members("grp_x", []), "user_ids"),
    (lambda s: s.remove_group_member("grp_x", ""), "user_id"),
    (lambda s: s.set_group_role("grp_x", "bob", "owner"), "role"),
    (lambda s: s.leave_group(""), "group_id"),
]


async def test_bad_arguments_raise_value_error_naming_the_field(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice") as (alice,):
            generation = alice.sig.generation
            for call, field in BAD_CALLS:
                with pytest.raises(ValueError, match=field):
                    await call(alice.sig)
            assert alice.sig.state is ConnectionState.CONNECTED
            assert alice.sig.generation == generation
            assert (await alice.sig.create_group("fine", [])).name == "fine"


GATED: list[GroupCall] = [
    lambda s: s.create_group("team", ["bob"]),
    lambda s: s.list_groups(),
    lambda s: s.get_group("grp_x"),
    lambda s: s.rename_group("grp_x", "new"),
    lambda s: s.add_group_members("grp_x", ["bob"]),
    lambda s: s.remove_group_member("grp_x", "bob"),
    lambda s: s.set_group_role("grp_x", "bob", "admin"),
    lambda s: s.leave_group("grp_x"),
]


async def test_every_group_verb_is_gated_by_chat(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with peers(utd_engine, "alice") as (alice,):
            await utd_engine.set_plan(chat_enabled=False)
            for call in GATED:
                with pytest.raises(UTDStreamError) as info:
                    await call(alice.sig)
                assert info.value.code is ErrorCode.FEATURE_DISABLED
                assert info.value.is_chat_disabled
                assert not info.value.is_signaling_disabled
            await utd_engine.set_plan(chat_enabled=True)
            assert await alice.sig.list_groups() == ()
