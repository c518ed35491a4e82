"""The connection's protocol state with no socket: refs, replies, liveness, the end (§5).

A scripted engine answers the client's frames in memory; time is a number passed in.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utd_trio import ErrorCode, UTDStreamError
from utd_trio._protocol._codec import Frame
from utd_trio._protocol._connection import (
    CloseInfo,
    ConnectionMachine,
    ConnectionStats,
    Hello,
    Reply,
)
from utd_trio._protocol._heartbeat_grid import DEFAULT_SLOTS, grid_slot, next_grid_ping

HELLO = Hello(socket_id="1.2", user_id="alice", heartbeat_interval=25.0, server_time=None)


def machine(now: float = 0.0, timeout: float = 10.0, slots: int = 1) -> ConnectionMachine:
    return ConnectionMachine(
        HELLO, heartbeat_timeout=timeout, now=now, stats=ConnectionStats(), ping_slots=slots
    )


def on_grid(t: float, step: float) -> bool:
    """``t`` is a multiple of ``step`` (to float rounding)."""
    return abs(t / step - round(t / step)) < 1e-9


def engine(text: str) -> str:
    """A scripted engine: acks every request with its data echoed, refuses ``nope``."""
    frame: dict[str, Any] = json.loads(text)
    if frame["event"] == "ping":
        return json.dumps({"event": "pong", "ref": frame["ref"]})
    if frame["event"] == "nope":
        data = {"status": 403, "code": "feature_disabled", "message": "Chat is not enabled"}
        return json.dumps({"event": "error", "ref": frame["ref"], "data": data})
    return json.dumps({"event": "ack", "ref": frame["ref"], "data": {"echo": frame["data"]}})


def test_a_reply_resolves_its_request_by_ref() -> None:
    conn = machine()
    ref, text = conn.request("typing", {"to": "bob", "is_typing": True})
    assert json.loads(text)["ref"] == ref
    reply = conn.receive(engine(text), 1.0)
    assert reply == Reply(ref, data={"echo": {"to": "bob", "is_typing": True}})
    assert conn.receive(engine(text), 1.0) is None  # a second reply for the ref is ignored


def test_an_error_reply_is_classified() -> None:
    conn = machine()
    ref, text = conn.request("nope", {})
    reply = conn.receive(engine(text), 1.0)
    assert isinstance(reply, Reply)
    assert reply.ref == ref
    assert reply.error is not None
    assert reply.error.code is ErrorCode.FEATURE_DISABLED
    assert reply.error.is_chat_disabled


def test_replies_nobody_waits_for_are_dropped_and_errors_counted() -> None:
    conn = machine()
    ref, text = conn.request("nope", {})
    conn.forget(ref)  # the caller timed out
    assert conn.receive(engine(text), 1.0) is None
    assert conn.stats.dropped == {"error_without_request": 1}


def test_events_go_on_pongs_and_hellos_are_consumed_junk_is_counted() -> None:
    conn = machine()
    event = conn.receive('{"event":"presence.update","data":{"user_id":"bob"}}', 1.0)
    assert isinstance(event, Frame)
    assert event.data == {"user_id": "bob"}
    assert conn.receive('{"event":"pong","ref":"r9"}', 1.0) is None
    assert conn.receive("not json", 1.0) is None
    assert conn.receive(b"\x00", 1.0) is None
    assert conn.stats.frames_received == 4
    assert conn.stats.dropped_total == 2


def test_pings_every_interval_and_death_after_interval_plus_timeout() -> None:
    conn = machine(now=100.0, slots=1)  # one slot: the grid's points are multiples of 25 s
    assert conn.next_ping() == 125.0
    assert conn.ping(124.9) is None
    assert conn.dead(124.9) is None
    ping = conn.ping(125.0)
    assert ping is not None
    assert json.loads(ping)["event"] == "ping"
    assert conn.receive(engine(ping), 126.0) is None  # the pong proves life
    assert conn.dead_at == 126.0 + 35.0
    assert conn.alive(160.9)
    dead = conn.dead(161.0)
    assert dead is not None
    assert "no frame from the engine for 35.0 s" in dead
    assert not conn.alive(161.0)


def test_the_silence_deadline_moves_with_every_frame_and_pings_keep_their_schedule() -> None:
    conn = machine(now=100.0)
    assert conn.dead_at == 135.0
    assert conn.dead(134.0) is None
    assert conn.ping(124.0) is None  # not due: the schedule stays
    assert conn.next_ping() == 125.0
    ping = conn.ping(125.0)
    assert ping is not None
    assert json.loads(ping)["event"] == "ping"
    assert conn.next_ping() == 150.0
    assert conn.ping(125.0) is None  # one ping per due time
    conn.receive(engine(ping), 125.5)  # the pong moves the silence deadline forward
    assert conn.dead_at == 160.5
    assert conn.dead(160.0) is None
    reason = conn.dead(160.5)
    assert reason is not None
    assert "35.0 s" in reason


def test_a_timer_firing_a_hair_early_counts_as_on_time() -> None:
    conn = machine(now=0.0)
    assert conn.dead(35.0 - 1e-4) is not None
    assert conn.ping(25.0 - 1e-4) is not None


def test_tick_is_dead_and_ping_in_one_call() -> None:
    conn = machine(now=100.0, slots=1)
    assert conn.tick(110.0) == (None, None, 125.0)  # nothing due: when to call next
    reason, ping, due = conn.tick(125.0)
    assert reason is None
    assert ping is not None
    assert json.loads(ping)["event"] == "ping"
    assert due == 135.0  # no pong yet: the silence deadline comes before the next ping
    conn.receive(engine(ping), 125.5)
    assert conn.tick(135.0) == (None, None, 150.0)
    reason, ping, due = conn.tick(160.5)
    assert reason is not None
    assert "35.0 s" in reason
    assert (ping, due) == (None, float("inf"))


@given(
    start=st.floats(0.0, 1e6),
    steps=st.lists(
        st.tuples(st.sampled_from(["tick", "frame"]), st.floats(0.0, 40.0)), max_size=30
    ),
    slots=st.integers(1, DEFAULT_SLOTS),
)
def test_tick_answers_as_dead_ping_next_ping_and_dead_at_do(
    start: float, steps: list[tuple[str, float]], slots: int
) -> None:
    """Two twins see the same frames and times; one is asked by `tick`, one step by step."""
    one, other = machine(start, slots=slots), machine(start, slots=slots)
    now = start
    for kind, gap in steps:
        now += gap
        if kind == "frame":
            one.receive('{"event":"pong"}', now)
            other.receive('{"event":"pong"}', now)
            continue
        reason, ping, due = one.tick(now)
        expected_reason = other.dead(now)
        assert reason == expected_reason
        if reason is not None:
            assert (ping, due) == (None, float("inf"))
            return
        expected_ping = other.ping(now)
        assert (ping is None) == (expected_ping is None)
        assert one.next_ping() == other.next_ping()
        next_ping, dead_at = other.next_ping(), other.dead_at
        if next_ping <= dead_at:
            assert due == next_ping
        else:  # a look at the silence deadline: never after it, on the shared grid or at it
            step = HELLO.heartbeat_interval / slots
            assert now < due <= dead_at
            assert due == dead_at or (dead_at - due < step and on_grid(due, step))


def test_the_look_at_silence_is_on_a_shared_instant_and_a_silent_peer_is_found_on_time() -> None:
    step = 25.0 / DEFAULT_SLOTS
    conns = [machine(now=100.0 + i * 0.01, slots=DEFAULT_SLOTS) for i in range(5)]
    looks = set()
    for conn in conns:
        reason, ping, due = conn.tick(conn.next_ping())
        assert reason is None
        assert ping is not None
        assert due < conn.dead_at  # the look comes before the deadline
        looks.add(due)
    assert len(looks) == 1  # deadlines 0.01 s apart share one instant
    (look,) = looks
    assert on_grid(look, step)
    answered, silent = conns[0], conns[1]
    answered.receive('{"event":"pong"}', look - 5.0)
    assert answered.tick(look) == (None, None, answered.next_ping())  # moved on: next ping
    assert silent.tick(look) == (None, None, silent.dead_at)  # unmoved: at the deadline itself
    reason, _, _ = silent.tick(silent.dead_at)
    assert reason is not None


def test_pings_follow_the_connection_s_slot_of_the_process_grid() -> None:
    conn = machine(now=100.0, slots=DEFAULT_SLOTS)
    first = conn.next_ping()
    assert first == next_grid_ping(100.0, 25.0, grid_slot("1.2"), DEFAULT_SLOTS)
    assert 100.0 < first <= 125.0
    assert conn.ping(first - 1e-4) is not None  # a hair early: on time, and only once
    assert conn.next_ping() == pytest.approx(first + 25.0)
    assert conn.ping(first) is None


def test_the_end_fails_every_waiting_request_once() -> None:
    conn = machine()
    first, _ = conn.request("a", {})
    second, _ = conn.request("b", {})
    ended = conn.end(CloseInfo(1011, "internal error"))
    assert ended is not None
    refs, error = ended
    assert sorted(refs) == sorted([first, second])
    assert error.code is ErrorCode.NETWORK
    assert error.status == 1011
    assert conn.end(CloseInfo(1000, "later")) is None  # the first cause wins
    assert conn.close_info == CloseInfo(1011, "internal error")
    with pytest.raises(UTDStreamError) as caught:
        conn.request("c", {})
    assert caught.value.code is ErrorCode.NETWORK


def test_a_frame_over_one_mib_is_refused_before_it_is_awaited() -> None:
    conn = machine()
    with pytest.raises(UTDStreamError) as caught:
        conn.request("message.send", {"text": "x" * (1024 * 1024)})
    assert caught.value.code is ErrorCode.INVALID
    ended = conn.end(CloseInfo(None, "gone"))
    assert ended is not None
    assert ended[0] == []  # the refused request was never awaited


def test_refs_are_unique_across_connections() -> None:
    refs = {machine().request("x", {})[0] for _ in range(50)}
    assert len(refs) == 50
