"""Channels across reconnects: resubscribed with fresh grants, gap differences, then the signal."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from utd_trio import (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Disconnected,
    ErrorCode,
    Event,
    UTDStreamError,
    open_signaling,
)
from utd_trio.testing import Engine

from ._helpers import Creds, backend, next_of

pytestmark = pytest.mark.both_loops


async def test_presence_gap_reported_before_resubscribed(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            open_signaling(**creds(utd_engine, "carol")) as carol,
            alice.subscribe_channel("presence-room") as room,
            room.events() as events,
            alice.events(Disconnected) as lifecycle,
        ):
            async with bob.subscribe_channel("presence-room"):
                await next_of(events, ChannelMemberAdded)
                first = alice.client
                assert first is not None
                old_socket = first.hello.socket_id
                utd_engine.stall_sockets("alice")  # alice hears nothing from now on
                async with carol.subscribe_channel("presence-room"):
                    # carol joins, and a broadcast goes out, while alice's socket is dead
                    async with backend(utd_engine) as api:
                        await api.broadcast("presence-room", "missed", 1)
                    await utd_engine.drop_sockets("alice", code=1011)
                    await next_of(lifecycle, Disconnected)
                    got: list[Event] = []
                    while not isinstance(event := await events.receive(), ChannelResubscribed):
                        got.append(event)
                    assert event.channel == "presence-room"
                    assert event.error is None
                    # the join of the gap, and nothing of the broadcast (not replayed)
                    assert got == [ChannelMemberAdded("presence-room", "carol", {})]
                    assert set(room.members) == {"alice", "bob", "carol"}
                    second = alice.client
                    assert second is not None
                    assert second.hello.socket_id != old_socket
            removed = [await next_of(events, ChannelMemberRemoved) for _ in range(2)]
            assert {r.user_id for r in removed} == {"bob", "carol"}
            assert set(room.members) == {"alice"}


async def test_member_leaving_during_the_gap_is_reported(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            alice.subscribe_channel("presence-room") as room,
            room.events() as events,
        ):
            async with bob.subscribe_channel("presence-room"):
                await next_of(events, ChannelMemberAdded)
                utd_engine.stall_sockets("alice")
            await utd_engine.drop_sockets("alice", code=1011)
            got: list[Event] = []
            while not isinstance(event := await events.receive(), ChannelResubscribed):
                got.append(event)
            assert got == [ChannelMemberRemoved("presence-room", "bob")]
            assert set(room.members) == {"alice"}


async def test_client_events_flow_again_after_a_reconnect(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            alice.subscribe_channel("private-doc") as a_doc,
            bob.subscribe_channel("private-doc") as b_doc,
            a_doc.events() as a_events,
            b_doc.events() as b_events,
        ):
            await utd_engine.drop_sockets("alice", code=None)  # abrupt: 1006
            resubscribed = await next_of(a_events, ChannelResubscribed)
            assert resubscribed.generation == 2
            await a_doc.trigger("client-back", True)
            assert (await next_of(b_events, ChannelEvent)).data is True
            await b_doc.trigger("client-hello", "again")
            assert (await next_of(a_events, ChannelEvent)).data == "again"


async def test_a_trigger_during_the_gap_waits_for_the_resubscription(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            open_signaling(**creds(utd_engine, "bob")) as bob,
            alice.subscribe_channel("private-doc") as a_doc,
            bob.subscribe_channel("private-doc") as b_doc,
            b_doc.events() as b_events,
            alice.events(Disconnected) as lifecycle,
        ):
            utd_engine.stall_sockets("alice")
            await utd_engine.drop_sockets("alice", code=1011)
            await next_of(lifecycle, Disconnected)
            await a_doc.trigger("client-queued", 1)  # waits for the new socket and channel
            assert (await next_of(b_events, ChannelEvent)).event == "client-queued"


async def test_subscribe_asked_while_the_socket_is_down_is_sent_once_it_is_up(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10):
        async with (
            open_signaling(**creds(utd_engine, "alice")) as alice,
            alice.events(Disconnected) as lifecycle,
            backend(utd_engine) as api,
        ):
            utd_engine.stall_sockets("alice")
            await utd_engine.drop_sockets("alice", code=1011)
            await next_of(lifecycle, Disconnected)
            async with alice.subscribe_channel("later") as later, later.events() as events:
                await api.broadcast("later", "hello", None)
                assert (await next_of(events, ChannelEvent)).event == "hello"


async def test_a_socket_dying_while_the_grant_is_fetched_starts_over_on_the_next(
    utd_engine: Engine, creds: Creds
) -> None:
    # The development grant is asked for the old socket_id, which the engine no longer knows
    # by the time it answers (403): the subscribe must not fail for that, but start over on
    # the new socket.
    with anyio.fail_after(10):
        async with open_signaling(**creds(utd_engine, "alice")) as alice:
            real = alice.api.channel_grant
            refused: list[UTDStreamError] = []

            async def grant_after_a_drop(*args: Any) -> Any:
                if not refused:
                    await utd_engine.drop_sockets("alice", code=1011)
                    try:
                        return await real(*args)
                    except UTDStreamError as exc:
                        refused.append(exc)
                        raise
                return await real(*args)

            api: Any = alice.api
            api.channel_grant = grant_after_a_drop
            async with alice.subscribe_channel("private-x") as ch:
                assert [e.code for e in refused] == [ErrorCode.FORBIDDEN]
                assert ch.kind == "private"
                assert alice.generation == 2
