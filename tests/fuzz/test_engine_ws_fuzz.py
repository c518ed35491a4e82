"""Fuzz the engine's WebSocket: every hostile frame gets an error frame or a silent drop, and the
socket survives it — after each case a ``ping`` still gets its ``pong``.

One engine and (while it survives) one socket serve every example: a case that kills the
socket fails, and the next example opens a fresh one so shrinking stays honest.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import trio_websocket
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ._host import EngineHost, engine_host
from ._strategies import big, deep_json, json_values, text, with_surrogate

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ONE_MIB = 1024 * 1024
CONTRACT_EVENTS = [
    "presence.subscribe",
    "presence.unsubscribe",
    "call.invite",
    "call.ringing",
    "call.accept",
    "call.reject",
    "call.cancel",
    "call.end",
    "message.send",
    "message.delivered",
    "message.read",
    "typing",
    "call_invite",
    "message_send",
]
RESERVED = ["ping", "pong", "ack", "error", "connection.established", "connection_established"]
_probes = itertools.count()


@pytest.fixture(scope="module")
def host() -> Iterator[EngineHost]:
    with engine_host(mint_rate_limit=None) as running:
        yield running


async def _socket(host: EngineHost) -> trio_websocket.WebSocketConnection:
    ws: trio_websocket.WebSocketConnection | None = host.state.get("ws")
    if ws is not None and not ws.closed:
        return ws
    project = host.engine.default_project
    response = await host.http.post(
        "/api/v1/auth/session",
        headers={"X-App-Id": project.app_id, "X-App-Key": project.app_key},
        json={"identity": "ws-fuzzer"},
    )
    token = response.json()["user_token"]
    ws = await trio_websocket.connect_websocket_url(
        host.nursery, f"{host.engine.ws_url}?token={token}", max_message_size=4 * ONE_MIB
    )
    hello = json.loads(await ws.get_message())
    assert hello["event"] == "connection.established"
    host.state["ws"] = ws
    return ws


async def _case(host: EngineHost, payload: str | bytes) -> list[dict[str, Any]]:
    """Send ``payload`` then a probe ping; return the frames that came before the pong."""
    ws = await _socket(host)
    probe = f"probe-{next(_probes)}"
    try:
        await ws.send_message(payload)
        await ws.send_message(json.dumps({"event": "ping", "ref": probe}))
        replies: list[dict[str, Any]] = []
        while True:
            frame = json.loads(await ws.get_message())
            if frame == {"event": "pong", "ref": probe}:
                return replies
            replies.append(frame)
    except trio_websocket.ConnectionClosed as exc:
        host.state["ws"] = None
        raise AssertionError(f"the engine closed the socket: {exc.reason}") from None


def _check(replies: list[dict[str, Any]], *, silent: bool = False) -> None:
    if silent:
        assert replies == [], replies
    for frame in replies:
        assert isinstance(frame, dict), frame
        assert isinstance(frame.get("event"), str), frame
        if frame["event"] == "error":
            data = frame["data"]
            assert isinstance(data["status"], int), frame
            assert 400 <= data["status"] < 500, f"engine failed on fuzz input: {frame}"
            assert isinstance(data["message"], str), frame


event_names = st.one_of(
    st.sampled_from(CONTRACT_EVENTS),
    st.sampled_from(CONTRACT_EVENTS + RESERVED),
    text,
    json_values,
    st.just("x" * 5000),
)
# Contract field names with hostile values, so fuzz input reaches past "data must be an object".
FIELDS = [
    "to",
    "type",
    "metadata",
    "call_id",
    "reason",
    "user_ids",
    "client_id",
    "group_id",
    "text",
    "attachment",
    "conversation_id",
    "up_to_seq",
    "is_typing",
]
contract_data = st.fixed_dictionaries(
    {},
    optional={
        name: json_values | st.sampled_from(["alice", "ws-fuzzer", "bob"]) for name in FIELDS
    },
)
data_values = st.one_of(
    contract_data,
    contract_data,
    json_values,
    st.dictionaries(text, json_values, max_size=5),
    st.builds(lambda n: {"text": big("y" * n)}, st.integers(0, 200_000)),
)


def _frame(event: Any, data: Any, ref: Any, extra: dict[str, Any], keep: list[str]) -> str:
    frame: dict[str, Any] = {"event": event, "data": data, "ref": ref, **extra}
    return big(json.dumps({key: frame[key] for key in frame if key in keep or key in extra}))


frames = st.builds(
    _frame,
    event_names,
    data_values,
    json_values,
    st.dictionaries(text, json_values, max_size=2),
    st.lists(st.sampled_from(["event", "data", "ref"]), unique=True),
)


@FUZZ
@given(payload=st.one_of(frames, text, json_values.map(json.dumps), st.binary(max_size=300)))
@example(payload="")
@example(payload=b"")
@example(payload="null")
@example(payload='{"event": "ping", "ref": {"nested": [1]}}')
@example(payload='{"event": "message.send", "data": "not an object", "ref": "r"}')
@example(payload='{"event": "call.invite", "data": [1, 2], "ref": 1}')
@example(payload='{"event": "ack", "data": {}, "ref": "r"}')
@example(payload='{"event": "connection.established", "data": {}, "ref": "r"}')
@example(payload='{"event": "\\u0000", "ref": "r"}')
@example(payload='{"event": "typing", "data": {"is_typing": 1e999}, "ref": "r"}')
@example(payload=big('{"event": "typing", "data": {"to": ' + "9" * 5000 + "}}"))
def test_random_frames_keep_the_socket(host: EngineHost, payload: str | bytes) -> None:
    _check(host.run(_case, host, payload))


@settings(FUZZ, max_examples=20)
@given(nested=deep_json, wrap=st.booleans())
@example(nested=big("[" * 100_000 + "]" * 100_000), wrap=False)
@example(nested=big("[" * 100_000 + "]" * 100_000), wrap=True)
@example(nested=big('{"a":' * 5000 + "1" + "}" * 5000), wrap=True)
def test_deeply_nested_frames_keep_the_socket(host: EngineHost, nested: str, wrap: bool) -> None:
    payload = '{"event": "message.send", "ref": "deep", "data": ' + nested + "}" if wrap else nested
    payload = big(payload)
    _check(host.run(_case, host, payload))


@settings(FUZZ, max_examples=8)
@given(extra=st.integers(min_value=1, max_value=4096), char=st.sampled_from(["a", "é", "€", "𝄞"]))
def test_oversize_frames_are_dropped_silently(host: EngineHost, extra: int, char: str) -> None:
    width = len(char.encode())
    body = char * ((ONE_MIB + extra) // width + 1)
    payload = '{"event": "message.send", "ref": "big", "data": {"text": "' + body + '"}}'
    before = host.engine.stats.oversize_frames
    _check(host.run(_case, host, payload), silent=True)
    assert host.engine.stats.oversize_frames == before + 1


def test_a_frame_of_exactly_one_mib_is_processed(host: EngineHost) -> None:
    head, tail = '{"event": "nope", "ref": "edge", "data": {"pad": "', '"}}'
    payload = head + "a" * (ONE_MIB - len(head) - len(tail)) + tail
    assert len(payload.encode()) == ONE_MIB
    replies = host.run(_case, host, payload)
    _check(replies)
    assert [r["data"]["code"] for r in replies] == ["unknown_event"]


@settings(FUZZ, max_examples=60)
@given(
    event=st.sampled_from([*CONTRACT_EVENTS, "ping", "nope"]),
    data=contract_data,
    field=st.sampled_from([*FIELDS, "extra"]),
    bad=with_surrogate,
)
def test_a_lone_surrogate_anywhere_is_refused(
    host: EngineHost, event: str, data: dict[str, Any], field: str, bad: Any
) -> None:
    frame = json.dumps({"event": event, "ref": "s", "data": {**data, field: bad}})
    replies = host.run(_case, host, frame)
    assert [
        (r["event"], r.get("ref"), r["data"]["status"], r["data"]["code"]) for r in replies
    ] == [("error", "s", 422, "invalid")], replies
