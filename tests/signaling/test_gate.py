"""The signaling capability gate: the engine refuses, the client never pre-blocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from utd_trio import ErrorCode, PresenceInfo, UTDStreamError
from utd_trio._domains._calls import new_call_id
from utd_trio.testing import DEFAULT_PROJECT, Engine, ProjectConfig, open_engine

from ._helpers import Creds, peers

pytestmark = pytest.mark.both_loops

Verb = Callable[[], Awaitable[Any]]


def verbs(sig: Any) -> dict[str, Verb]:
    """Every presence and call verb, plus the REST presence one-shot."""
    call_id = new_call_id()
    return {
        "subscribe_presence": lambda: sig.subscribe_presence(["bob"]),
        "unsubscribe_presence": lambda: sig.unsubscribe_presence(["bob"]),
        "invite": lambda: sig.invite("bob"),
        "ringing": lambda: sig.ringing(call_id),
        "accept_call": lambda: sig.accept_call(call_id),
        "reject_call": lambda: sig.reject_call(call_id),
        "cancel_call": lambda: sig.cancel_call(call_id),
        "end_call": lambda: sig.end_call(call_id),
        "api.presence": lambda: sig.api.presence(["bob"]),
    }


async def assert_all_disabled(sig: Any) -> None:
    for name, verb in verbs(sig).items():
        with pytest.raises(UTDStreamError) as info:
            await verb()
        error = info.value
        assert error.code is ErrorCode.FEATURE_DISABLED, name
        assert error.is_signaling_disabled, name
        assert error.is_forbidden, name
        assert not error.is_chat_disabled, name
        assert error.status == 403, name


async def test_disabled_project_refuses_every_signaling_verb(creds: Creds) -> None:
    project = ProjectConfig(
        app_id=DEFAULT_PROJECT.app_id,
        app_key=DEFAULT_PROJECT.app_key,
        app_secret=DEFAULT_PROJECT.app_secret,
        signaling_enabled=False,
    )
    with anyio.fail_after(15):
        async with open_engine([project]) as engine:
            async with peers(engine, creds, "alice", "bob") as (alice, _bob):
                assert alice.sig.signaling_enabled is False
                await assert_all_disabled(alice.sig)
                await alice.sig.wait_connected(1)  # the connection survived every refusal


async def test_live_plan_change_gates_at_once_and_back(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(15):
        async with peers(utd_engine, creds, "alice", "bob") as (alice, _bob):
            await utd_engine.set_plan(signaling_enabled=False)
            await assert_all_disabled(alice.sig)
            await utd_engine.set_plan(signaling_enabled=True)
            assert await alice.sig.subscribe_presence(["bob"]) == (PresenceInfo("bob", True),)
            call = await alice.sig.invite("bob")
            assert call.status == "ringing"


async def test_unknown_flag_is_not_blocked_by_the_client(creds: Creds) -> None:
    project = ProjectConfig(
        app_id=DEFAULT_PROJECT.app_id,
        app_key=DEFAULT_PROJECT.app_key,
        app_secret=DEFAULT_PROJECT.app_secret,
        signaling_enabled=None,
    )
    with anyio.fail_after(15):
        async with open_engine([project]) as engine:
            async with peers(engine, creds, "alice", "bob") as (alice, _bob):
                assert alice.sig.signaling_enabled is None
                assert (await alice.sig.invite("bob")).status == "ringing"
