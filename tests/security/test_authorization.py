"""Authorization in the engine, one test per rule: a token is one identity in one project,
expired/revoked tokens and banned users are refused, and nobody reads or acts on a
conversation, group or call that is not theirs, or beyond their group role."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import trio.testing
from websockets.exceptions import ConnectionClosed, InvalidStatus

from utd_trio import CallIncoming, ErrorCode, Signaling, UTDStreamError, open_signaling
from utd_trio.testing import Engine, ProjectConfig, open_engine

from ._fake_ws import open_raw_ws
from .conftest import IO, creds

pytestmark = pytest.mark.both_loops

OTHER = ProjectConfig(app_id="app_other", app_key="key_other", app_secret="secret_other")
DENIED = (ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND)


async def _mint(engine: Engine, identity: str, app_id: str | None = None) -> str:
    project = engine.project(app_id)
    async with httpx.AsyncClient(base_url=engine.base_url) as http:
        response = await http.post(
            "/api/v1/auth/session",
            headers={"X-App-Id": project.app_id, "X-App-Key": project.app_key},
            json={"identity": identity},
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["user_token"]
    return token


async def _rest(engine: Engine, token: str, path: str = "/api/v1/chat/conversations") -> int:
    async with httpx.AsyncClient(base_url=engine.base_url) as http:
        response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


async def _ws_status(engine: Engine, token: str) -> tuple[str, Any]:
    """("hello", user_id) | ("refused", http status) | ("closed", close code)."""
    try:
        async with open_raw_ws(f"{engine.ws_url}?token={token}") as ws:
            frame = json.loads(await ws.recv())
            return "hello", frame["data"]["user_id"]
    except InvalidStatus as exc:
        return "refused", exc.response.status_code
    except ConnectionClosed as exc:
        return "closed", None if exc.rcvd is None else exc.rcvd.code


@asynccontextmanager
async def users(engine: Engine, *names: str) -> AsyncIterator[dict[str, Signaling]]:
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(open_signaling(**creds(engine, name)))
            for name in names
        }


async def _denied(call: Any) -> ErrorCode:
    with pytest.raises(UTDStreamError) as info:
        await call
    assert info.value.code in DENIED, info.value
    return info.value.code


# --- tokens -------------------------------------------------------------------------------


async def test_a_token_is_bound_to_its_identity(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        token = await _mint(utd_engine, "alice")
        assert await _ws_status(utd_engine, token) == ("hello", "alice")
        # The WS ignores any identity the client claims: the token decides.
        url = f"{utd_engine.ws_url}?token={token}&user_id=bob&identity=bob"
        async with open_raw_ws(url) as ws:
            assert json.loads(await ws.recv())["data"]["user_id"] == "alice"


async def test_another_projects_credentials_and_users_are_out_of_reach() -> None:
    with anyio.fail_after(IO):
        async with open_engine(projects=None) as engine:
            engine.add_project(OTHER)
            # A key is valid for its own app id only.
            async with httpx.AsyncClient(base_url=engine.base_url) as http:
                response = await http.post(
                    "/api/v1/auth/session",
                    headers={"X-App-Id": OTHER.app_id, "X-App-Key": engine.default_project.app_key},
                    json={"identity": "alice"},
                )
            assert response.status_code == 401
            # Same identity in two projects: two users; a call never crosses tenants.
            async with (
                open_signaling(**creds(engine, "alice")) as alice,
                open_signaling(
                    app_id=OTHER.app_id,
                    app_key=OTHER.app_key,
                    user_id="bob",
                    base_url=engine.base_url,
                ) as foreign_bob,
                foreign_bob.events(CallIncoming) as incoming,
            ):
                call = await alice.invite("bob")
                assert call.status == "initiating"  # no "bob" online in alice's project
                await alice.cancel_call(call.call_id)
                await anyio.wait_all_tasks_blocked()
                assert incoming.delivered == 0
                with anyio.move_on_after(0.2):
                    await incoming.receive()
                    pytest.fail("a call crossed projects")


async def test_an_expired_token_is_refused_on_rest_and_websocket(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with anyio.fail_after(600):
        async with open_engine(token_ttl=60) as engine:
            token = await _mint(engine, "alice")
            assert await _rest(engine, token) == 200
            await anyio.sleep(61)
            assert await _rest(engine, token) == 401
            assert await _ws_status(engine, token) == ("refused", 401)


async def test_a_revoked_token_is_refused_on_rest_and_websocket(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        token = await _mint(utd_engine, "alice")
        assert utd_engine.revoke_tokens("alice") == 1
        assert await _rest(utd_engine, token) == 401
        assert await _ws_status(utd_engine, token) == ("refused", 401)
        assert await _rest(utd_engine, "utk_forged") == 401


async def test_a_banned_user_is_closed_4003_and_refused_everywhere(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        token = await _mint(utd_engine, "mallory")
        async with open_raw_ws(f"{utd_engine.ws_url}?token={token}") as ws:
            await ws.recv()  # hello
            assert await utd_engine.ban("mallory") == 1
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4003
        assert await _ws_status(utd_engine, token) == ("closed", 4003)
        assert await _rest(utd_engine, token) == 403
        project = utd_engine.default_project
        async with httpx.AsyncClient(base_url=utd_engine.base_url) as http:
            response = await http.post(
                "/api/v1/auth/session",
                headers={"X-App-Id": project.app_id, "X-App-Key": project.app_key},
                json={"identity": "mallory"},
            )
        assert response.status_code == 403
        assert response.json()["code"] == "banned"


# --- conversations and groups -------------------------------------------------------------


async def test_no_reading_someone_elses_dm(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        async with users(utd_engine, "alice", "bob", "carol") as u:
            sent = await u["alice"].send_message(to="bob", text="private")
            assert (await u["bob"].history(sent.conversation_id)).messages[-1].id == sent.id
            await _denied(u["carol"].history(sent.conversation_id))
            assert sent.conversation_id not in {
                c.conversation_id for c in await u["carol"].conversations()
            }


async def test_no_reading_or_posting_in_a_group_you_are_not_in(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        async with users(utd_engine, "alice", "bob", "carol") as u:
            group = await u["alice"].create_group("team", ["bob"])
            posted = await u["alice"].send_message(group_id=group.group_id, text="hi team")
            await _denied(u["carol"].send_message(group_id=group.group_id, text="let me in"))
            await _denied(u["carol"].history(posted.conversation_id))
            await _denied(u["carol"].get_group(group.group_id))
            await _denied(u["carol"].add_group_members(group.group_id, ["carol"]))
            # After leaving, bob is out as well.
            await u["bob"].leave_group(group.group_id)
            await _denied(u["bob"].send_message(group_id=group.group_id, text="still here?"))


async def test_group_role_rights(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        async with users(utd_engine, "owner", "admin", "member", "other") as u:
            gid = (await u["owner"].create_group("g", ["admin", "member", "other"])).group_id
            await u["owner"].set_group_role(gid, "admin", "admin")
            member, admin = u["member"], u["admin"]
            # A member may not manage the group.
            await _denied(member.rename_group(gid, "mine"))
            await _denied(member.remove_group_member(gid, "other"))
            await _denied(member.set_group_role(gid, "member", "admin"))
            # An admin removes members, but not admins or the owner, and changes no roles.
            await admin.remove_group_member(gid, "other")
            await _denied(admin.set_group_role(gid, "member", "admin"))
            await _denied(admin.remove_group_member(gid, "owner"))
            await u["owner"].set_group_role(gid, "member", "admin")
            await _denied(admin.remove_group_member(gid, "member"))
            # Nobody changes the owner's role.
            with pytest.raises(UTDStreamError):
                await u["owner"].set_group_role(gid, "owner", "member")


# --- calls --------------------------------------------------------------------------------


async def test_calls_are_acted_on_only_by_their_parties_in_their_roles(utd_engine: Engine) -> None:
    with anyio.fail_after(IO):
        async with users(utd_engine, "alice", "bob", "carol") as u:
            alice, bob, carol = u["alice"], u["bob"], u["carol"]
            call = await alice.invite("bob")
            cid = call.call_id
            # A third party can do nothing to it.
            for act in (
                carol.accept_call(cid),
                carol.reject_call(cid),
                carol.cancel_call(cid),
                carol.end_call(cid),
            ):
                await _denied(act)
            # The caller cannot answer; the callee cannot cancel.
            assert await _denied(alice.accept_call(cid)) is ErrorCode.FORBIDDEN
            assert await _denied(alice.reject_call(cid)) is ErrorCode.FORBIDDEN
            assert await _denied(bob.cancel_call(cid)) is ErrorCode.FORBIDDEN
            await bob.accept_call(cid)
            await _denied(carol.end_call(cid))
            assert await bob.end_call(cid) is not None
