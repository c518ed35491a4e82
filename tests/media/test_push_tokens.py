"""Push-token registration: idempotent, unknown tokens fine, ``?token=``, never gated."""

from __future__ import annotations

import anyio
import pytest

from utd_trio import ConnectionState
from utd_trio.testing import Engine
from utd_trio.testing._push import PushRegistration

from ._helpers import raw, session

pytestmark = pytest.mark.both_loops

PATH = "/api/v1/devices/push-token"


async def test_register_twice_is_one_registration_and_refreshes_it(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            await sig.register_push_token("tok-1", platform="ios", provider="apns")
            await sig.register_push_token("tok-1", platform="ios", provider="voip")
            await sig.register_push_token("tok-2", platform="web", provider="fcm")
            assert utd_engine.push_tokens("alice") == {
                "tok-1": PushRegistration("tok-1", "ios", "voip"),
                "tok-2": PushRegistration("tok-2", "web", "fcm"),
            }
            await sig.unregister_push_token("tok-1")
            await sig.unregister_push_token("tok-1")  # again: still fine
            await sig.unregister_push_token("never-registered")
            assert list(utd_engine.push_tokens("alice")) == ["tok-2"]


async def test_a_token_moves_to_the_user_who_registers_it_last(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine, "alice") as alice, session(utd_engine, "bob") as bob:
            await alice.register_push_token("shared", platform="android", provider="fcm")
            await bob.register_push_token("shared", platform="android", provider="fcm")
            assert utd_engine.push_tokens("alice") == {}
            assert list(utd_engine.push_tokens("bob")) == ["shared"]
            await alice.unregister_push_token("shared")  # not alice's any more: a no-op
            assert list(utd_engine.push_tokens("bob")) == ["shared"]


async def test_delete_accepts_the_token_in_the_query(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            await sig.register_push_token("tok/+=", platform="ios", provider="apns")
            response = await raw(sig.api, "DELETE", PATH, params={"token": "tok/+="})
            assert response.status_code == 200
            assert response.json() == {"ok": True}
            assert utd_engine.push_tokens("alice") == {}
            unknown = await raw(sig.api, "DELETE", PATH, params={"token": "nope"})
            assert unknown.status_code == 200


async def test_engine_refuses_bad_bodies_with_422_and_needs_a_bearer(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            bad: list[tuple[str, dict[str, str]]] = [
                ("POST", {"token": "t", "platform": "symbian", "provider": "fcm"}),
                ("POST", {"token": "t", "platform": "ios", "provider": "pigeon"}),
                ("POST", {"token": "", "platform": "ios", "provider": "apns"}),
                ("POST", {"platform": "ios", "provider": "apns"}),
                ("DELETE", {}),
            ]
            for method, body in bad:
                response = await raw(sig.api, method, PATH, json=body)
                assert response.status_code == 422, body
            no_bearer = await raw(sig.api, "POST", PATH, bearer=False, json=bad[0][1])
            assert no_bearer.status_code == 401
            assert utd_engine.push_tokens("alice") == {}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"token": "", "platform": "ios", "provider": "apns"}, "token"),
        ({"token": "t", "platform": "symbian", "provider": "apns"}, "platform"),
        ({"token": "t", "platform": "ios", "provider": "pigeon"}, "provider"),
    ],
)
async def test_bad_arguments_raise_value_error_naming_the_field(
    utd_engine: Engine, kwargs: dict[str, str], field: str
) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            # the parameters are shared by both loops' runs: read them, never pop them
            rest = {k: v for k, v in kwargs.items() if k != "token"}
            with pytest.raises(ValueError, match=field):
                await sig.register_push_token(kwargs["token"], **rest)
            with pytest.raises(ValueError, match="token"):
                await sig.unregister_push_token("")
            assert sig.state is ConnectionState.CONNECTED
            await sig.register_push_token("ok", platform="ios", provider="apns")


async def test_push_tokens_work_with_chat_and_signaling_disabled(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            await utd_engine.set_plan(chat_enabled=False, signaling_enabled=False)
            await sig.register_push_token("tok", platform="web", provider="fcm")
            assert list(utd_engine.push_tokens("alice")) == ["tok"]
            await sig.unregister_push_token("tok")
            assert utd_engine.push_tokens("alice") == {}
