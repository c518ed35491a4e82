"""Engine, contract §11: client events - names, channels, data, delivery, the 10/s window."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing

from utd_trio.testing import Engine, open_engine

from ._channel_helpers import Peer, open_peer, open_peers
from ._helpers import TIMEOUT

ROOM = "private-room"


def _trigger(event: str = "client-move", data: Any = None, channel: str = ROOM) -> dict[str, Any]:
    return {"channel": channel, "event": event, "data": data}


async def test_delivered_to_every_other_socket_with_user_id(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "alice", "bob", "carol") as peers:
            alice1, alice2, bob, carol = peers
            for peer in (alice1, alice2, bob):
                await peer.join(ROOM)
            assert await alice1.ok("channel.trigger", _trigger(data={"x": 1, "é": [None]})) == {}
            expected = {
                "channel": ROOM,
                "event": "client-move",
                "data": {"x": 1, "é": [None]},
                "user_id": "alice",
            }
            assert await alice2.next_event("channel.event") == expected
            assert await bob.next_event("channel.event") == expected
            await alice1.quiet()  # never back to the sending socket
            await carol.quiet()  # nor to a socket that does not hold the channel


@pytest.mark.parametrize("data", [None, 0, "text", [1, 2], {"nested": {"deep": True}}, False])
async def test_data_is_any_json_value_passed_through(utd_engine: Engine, data: Any) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob") as (alice, bob):
            await alice.join("presence-game")
            await bob.join("presence-game")
            await alice.next_event("channel.member_added")
            await alice.ok("channel.trigger", _trigger(data=data, channel="presence-game"))
            assert (await bob.next_event("channel.event"))["data"] == data


@pytest.mark.parametrize(
    "event", ["move", "client", "Client-move", "", None, 5, "client-" + "x" * 194]
)
async def test_event_name_must_be_client_prefixed_and_short(utd_engine: Engine, event: Any) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            await peer.join(ROOM)
            error = await peer.fail("channel.trigger", _trigger(event))
            assert (error["status"], error["code"]) == (422, "invalid")
            longest = "client-" + "x" * 193
            assert await peer.ok("channel.trigger", _trigger(longest)) == {}


async def test_data_must_be_present(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            await peer.join(ROOM)
            error = await peer.fail("channel.trigger", {"channel": ROOM, "event": "client-x"})
            assert (error["status"], error["code"]) == (422, "invalid")


def _data_of_size(size: int) -> str:
    # A JSON string "…" is 2 bytes of quotes plus its UTF-8 body; é is 2 bytes, € is 3.
    body = size - 2
    return "€" * (body // 3) + "x" * (body % 3)


async def test_data_at_most_10_kib_of_compact_utf8(utd_engine: Engine) -> None:
    exact = _data_of_size(10 * 1024)
    assert len(json.dumps(exact, ensure_ascii=False).encode()) == 10 * 1024
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob") as (alice, bob):
            await alice.join(ROOM)
            await bob.join(ROOM)
            error = await alice.fail("channel.trigger", _trigger(data=_data_of_size(10 * 1024 + 1)))
            assert (error["status"], error["code"]) == (422, "invalid")
            spaced = {"k": ["v"] * 2000}  # 10 KiB+ with spaces, under it compact
            assert len(json.dumps(spaced, separators=(",", ":"))) < 10 * 1024
            await alice.ok("channel.trigger", _trigger(data=spaced))
            await alice.ok("channel.trigger", _trigger(data=exact))
            assert (await bob.next_event("channel.event"))["data"] == spaced
            assert (await bob.next_event("channel.event"))["data"] == exact
            await bob.quiet()  # the refused one was not delivered


async def test_public_or_not_held_channel_is_403(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peers(utd_engine, "alice", "bob") as (alice, bob):
            await alice.join("lobby")
            await bob.join("lobby")
            await bob.join(ROOM)
            for channel in ("lobby", ROOM, "presence-nobody"):
                error = await alice.fail("channel.trigger", _trigger(channel=channel))
                assert (error["status"], error["code"]) == (403, "forbidden"), channel
            await alice.join(ROOM)
            await alice.ok("channel.unsubscribe", {"channel": ROOM})
            error = await alice.fail("channel.trigger", _trigger())
            assert (error["status"], error["code"]) == (403, "forbidden")
            await bob.quiet()


async def test_checks_run_422_before_403(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_peer(utd_engine, "alice") as peer:
            for data in (
                _trigger(channel="bad name"),
                _trigger(event="move", channel="lobby"),
                {"channel": "private-not-held", "event": "client-x"},
            ):
                assert (await peer.fail("channel.trigger", data))["status"] == 422, data


async def _burst(peer: Peer, n: int) -> list[dict[str, Any]]:
    return [await peer.request("channel.trigger", _trigger(data=i)) for i in range(n)]


async def test_ten_per_sliding_second_then_429(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT + 100):
        async with open_engine() as engine, open_peers(engine, "alice", "bob") as (alice, bob):
            await alice.join(ROOM)
            await bob.join(ROOM)
            first = await _burst(alice, 5)
            await trio.sleep(0.6)
            second = await _burst(alice, 6)
            assert [r["event"] for r in first + second] == ["ack"] * 10 + ["error"]
            limited = second[-1]["data"]
            assert limited["status"] == 429
            assert limited["code"] == "rate_limited"
            assert limited["retry_after"] == 1
            assert [(await bob.next_event("channel.event"))["data"] for _ in range(10)] == [
                0,
                1,
                2,
                3,
                4,
                0,
                1,
                2,
                3,
                4,
            ]
            await bob.quiet()  # the refused 11th was not delivered
            await trio.sleep(0.5)  # t=1.1: the first five left the window, the next five did not
            third = await _burst(alice, 6)
            assert [r["event"] for r in third] == ["ack"] * 5 + ["error"]


async def test_refused_events_are_not_counted(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT + 100):
        async with open_engine() as engine, open_peer(engine, "alice") as alice:
            await alice.join(ROOM)
            for _ in range(20):
                await alice.fail("channel.trigger", _trigger(event="bad"))
                await alice.fail("channel.trigger", _trigger(channel="private-other"))
            assert [r["event"] for r in await _burst(alice, 10)] == ["ack"] * 10
            assert [r["event"] for r in await _burst(alice, 3)] == ["error"] * 3  # still 10 in 1 s
            await trio.sleep(1.0)
            assert [r["event"] for r in await _burst(alice, 10)] == ["ack"] * 10


async def test_the_window_is_per_socket(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT + 100):
        async with open_engine() as engine, open_peers(engine, "alice", "alice") as (one, two):
            await one.join(ROOM)
            await two.join(ROOM)
            assert [r["event"] for r in await _burst(one, 11)] == ["ack"] * 10 + ["error"]
            assert [r["event"] for r in await _burst(two, 10)] == ["ack"] * 10
