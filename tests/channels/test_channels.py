"""Channels from the client's side (contract §11): rooms, grants, client events, broadcast."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest
import trio.testing

from utd_trio import (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ErrorCode,
    UTDStreamError,
    open_signaling,
)
from utd_trio.testing import Engine

from ._helpers import Creds, backend, next_of, quiet

pytestmark = pytest.mark.both_loops


async def test_public_channel_gets_backend_broadcasts(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            backend(utd_engine) as api,
            alice.subscribe_channel("lobby") as a_lobby,
            bob.subscribe_channel("lobby") as b_lobby,
            a_lobby.events() as a_events,
            b_lobby.events() as b_events,
            alice.events(ChannelEvent) as a_all,
        ):
            assert (a_lobby.name, a_lobby.kind, dict(a_lobby.members)) == ("lobby", "public", {})
            await api.broadcast("lobby", "news", {"n": 1})
            for stream in (a_events, b_events, a_all):
                event = await next_of(stream, ChannelEvent)
                assert event == ChannelEvent("lobby", "news", {"n": 1}, None)
            assert await api.channels(prefix="lob") == {"lobby": {"subscription_count": 2}}


async def test_broadcast_leaves_out_the_named_socket(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            backend(utd_engine) as api,
            alice.subscribe_channel("room") as a_room,
            bob.subscribe_channel("room") as b_room,
            a_room.events() as a_events,
            b_room.events() as b_events,
        ):
            client = alice.client
            assert client is not None
            await api.broadcast(["room", "room"], "moved", [1, 2], socket_id=client.hello.socket_id)
            assert (await next_of(b_events, ChannelEvent)).data == [1, 2]
            await quiet(b_events, ChannelEvent)  # once, though named twice
            await quiet(a_events, ChannelEvent)


async def test_private_channel_client_events_reach_the_others_only(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            open_signaling(**creds(utd_engine, "bob")) as bob_phone,
            alice.subscribe_channel("private-doc") as a_doc,
            bob.subscribe_channel("private-doc") as b_doc,
            bob_phone.subscribe_channel("private-doc") as b2_doc,
            a_doc.events() as a_events,
            b_doc.events() as b_events,
            b2_doc.events() as b2_events,
        ):
            await b_doc.trigger("client-cursor", {"x": 3})
            assert await next_of(a_events, ChannelEvent) == ChannelEvent(
                "private-doc", "client-cursor", {"x": 3}, "bob"
            )
            assert (await next_of(b2_events, ChannelEvent)).user_id == "bob"  # other device
            await quiet(b_events, ChannelEvent)  # never back to the sending socket


async def test_presence_members_kept_current(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            alice.subscribe_channel("presence-room", user_info={"name": "Alice"}) as room,
            room.events() as events,
        ):
            assert dict(room.members) == {"alice": {"name": "Alice"}}
            async with bob.subscribe_channel("presence-room") as b_room:
                added = await next_of(events, ChannelMemberAdded)
                assert added == ChannelMemberAdded("presence-room", "bob", {})
                assert set(room.members) == {"alice", "bob"}
                assert set(b_room.members) == {"alice", "bob"}
                async with backend(utd_engine) as api:
                    assert sorted(await api.channel_users("presence-room")) == ["alice", "bob"]
            removed = await next_of(events, ChannelMemberRemoved)
            assert removed == ChannelMemberRemoved("presence-room", "bob")
            assert set(room.members) == {"alice"}
        assert dict(room.members) == {}  # released with its block


async def test_two_blocks_share_a_channel_until_the_last_leaves(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            backend(utd_engine) as api,
        ):
            async with alice.subscribe_channel("shared"):
                async with alice.subscribe_channel("shared") as inner:
                    assert inner.name == "shared"
                assert "shared" in await api.channels()  # the outer block still holds it
            assert await api.channels() == {}


async def test_client_events_wait_for_the_rate_window_never_429(
    utd_engine: Engine, creds: Creds, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(30):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            alice.subscribe_channel("private-game") as a_game,
            bob.subscribe_channel("private-game") as b_game,
            b_game.events() as b_events,
        ):
            start = anyio.current_time()
            for i in range(25):
                await a_game.trigger("client-move", i)
            assert [(await next_of(b_events, ChannelEvent)).data for _ in range(25)] == list(
                range(25)
            )
            assert anyio.current_time() - start >= 2.0  # 25 events need three windows


async def test_grant_from_a_callable_signed_by_the_backend(
    utd_engine: Engine, creds: Creds
) -> None:
    project = utd_engine.default_project
    asked: list[tuple[str, str]] = []

    async with backend(utd_engine) as api:

        async def grant(socket_id: str, channel_name: str) -> Mapping[str, Any]:
            asked.append((socket_id, channel_name))
            return api.authorize_channel(
                socket_id, channel_name, "alice", {"role": "host"}, app_key=project.app_key
            )

        with anyio.fail_after(10):
            async with (
                open_signaling(**creds(utd_engine, "alice", channel_auth=grant)) as alice,
                alice.subscribe_channel("presence-stage") as stage,
            ):
                assert dict(stage.members) == {"alice": {"role": "host"}}
                client = alice.client
                assert client is not None
                assert asked == [(client.hello.socket_id, "presence-stage")]


async def test_a_refused_grant_raises_and_the_session_stays_usable(
    utd_engine: Engine, creds: Creds
) -> None:
    async def forged(socket_id: str, channel_name: str) -> Mapping[str, Any]:
        return {"auth": f"{utd_engine.default_project.app_key}:{'0' * 64}"}

    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, "alice", channel_auth=forged)) as alice:
            with pytest.raises(UTDStreamError) as caught:
                async with alice.subscribe_channel("private-vault"):
                    pytest.fail("a forged grant was accepted")
            assert caught.value.code is ErrorCode.FORBIDDEN
            async with alice.subscribe_channel("public-hall") as hall:
                assert hall.kind == "public"


async def test_a_grant_callable_returning_junk_is_a_clear_type_error(
    utd_engine: Engine, creds: Creds
) -> None:
    async def junk(socket_id: str, channel_name: str) -> Mapping[str, Any]:
        return {"token": "nope"}

    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, "alice", channel_auth=junk)) as alice:
            with pytest.raises(TypeError, match="channel_auth"):
                async with alice.subscribe_channel("private-x"):
                    pytest.fail("unreachable")
            assert alice.state.value == "connected"


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "match"),
    [
        ("", {}, ValueError, "name must be"),
        ("has space", {}, ValueError, "name must be"),
        ("x" * 165, {}, ValueError, "name must be"),
        ("private-encrypted-x", {}, ValueError, "encrypted"),
        (7, {}, TypeError, "name must be a str"),
        ("private-x", {"user_info": {"a": 1}}, ValueError, "presence- channels only"),
        ("presence-x", {"user_info": ["a"]}, TypeError, "user_info must be a mapping"),
        ("presence-x", {"user_info": {"a": "x" * 2000}}, ValueError, "limit is 1024"),
    ],
)
async def test_bad_subscribe_arguments_fail_before_any_request(
    utd_engine: Engine, creds: Creds, name: Any, kwargs: dict[str, Any], error: type, match: str
) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, "alice")) as alice:
            with pytest.raises(error, match=match):
                async with alice.subscribe_channel(name, **kwargs):
                    pytest.fail("unreachable")
            async with alice.subscribe_channel("still-fine"):
                pass


@pytest.mark.parametrize(
    ("channel", "event", "data", "error", "match"),
    [
        ("public-x", "client-a", 1, ValueError, "is public"),
        ("private-x", "move", 1, ValueError, "must start with 'client-'"),
        ("private-x", "client-" + "a" * 200, 1, ValueError, "at most 200"),
        ("private-x", "client-a", "x" * 11_000, ValueError, "limit is 10240"),
        ("private-x", "client-a", {1, 2}, TypeError, "JSON-serializable"),
        ("private-x", "client-a", "\ud800", ValueError, "lone surrogate"),
    ],
)
async def test_bad_client_events_fail_locally(
    utd_engine: Engine,
    creds: Creds,
    channel: str,
    event: str,
    data: Any,
    error: type,
    match: str,
) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            alice.subscribe_channel(channel) as ch,
        ):
            with pytest.raises(error, match=match):
                await ch.trigger(event, data)
            if channel.startswith("private-"):
                await ch.trigger("client-ok", None)  # the channel is still usable


async def test_a_released_channel_refuses_triggers(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, "alice")) as alice:
            async with alice.subscribe_channel("private-x") as ch:
                pass
            with pytest.raises(UTDStreamError) as caught:
                await ch.trigger("client-late", 1)
            assert caught.value.code is ErrorCode.CLOSED


async def test_signaling_off_refuses_channels(utd_engine: Engine, creds: Creds) -> None:
    await utd_engine.set_plan(signaling_enabled=False)
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, "alice")) as alice:
            with pytest.raises(UTDStreamError) as caught:
                async with alice.subscribe_channel("lobby"):
                    pytest.fail("unreachable")
            assert caught.value.is_signaling_disabled


async def test_a_channel_stream_nobody_reads_stalls_nothing(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            backend(utd_engine) as api,
            alice.subscribe_channel("busy") as busy,
            busy.events(buffer=2) as never_read,
            busy.events(buffer=100) as reader,
        ):
            for n in range(20):
                await api.broadcast("busy", "tick", n)
            assert [(await next_of(reader, ChannelEvent)).data for _ in range(20)] == list(
                range(20)
            )
            assert never_read.dropped == 18  # the slow stream lost its oldest, nobody waited
            assert alice.state.value == "connected"
