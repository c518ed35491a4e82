"""GET /ws: hello, ping/pong, frame validation, dispatch to registered handlers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import trio

from utd_trio.testing import Engine, EngineError, EngineState, ProjectConfig, Session, open_engine

from ._helpers import TIMEOUT, connect, recv, send

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def test_hello_first(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (_, hello):
            assert utd_engine.socket_count("alice") == 1
            [session] = utd_engine.sockets("alice")
    assert set(hello) == {"socket_id", "user_id", "heartbeat_interval", "server_time"}
    assert hello["user_id"] == "alice"
    assert hello["socket_id"] == session.socket_id
    assert hello["heartbeat_interval"] == 25
    assert TIMESTAMP.fullmatch(hello["server_time"])


async def test_server_time_follows_injected_wall_clock() -> None:
    moment = datetime(2026, 11, 24, 9, 24, 12, 508_900, tzinfo=UTC)
    with trio.fail_after(TIMEOUT):
        async with open_engine(wall_clock=lambda: moment, heartbeat_interval=12.5) as engine:
            async with connect(engine) as (_, first):
                pass
            engine.advance_wall_clock(3600)
            async with connect(engine) as (_, second):
                pass
    assert first["server_time"] == "2026-11-24T09:24:12.508Z"
    assert second["server_time"] == "2026-11-24T10:24:12.508Z"
    assert first["heartbeat_interval"] == 12.5


async def test_ping_pong_with_and_without_ref(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            await send(ws, {"event": "ping", "ref": "r1"})
            assert await recv(ws) == {"event": "pong", "ref": "r1"}
            await send(ws, {"event": "ping"})
            assert await recv(ws) == {"event": "pong"}
            await send(ws, {"event": "ping", "ref": 7, "data": "ignored"})
            assert await recv(ws) == {"event": "pong", "ref": 7}


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        '"event"',
        "null",
        '{"data": {}}',
        '{"event": 5, "ref": "x"}',
        '{"event": ""}',
        '{"event": "ping", "ref": {"a": 1}}',
        b'{"event": "ping", "ref": "bin"}',
    ],
)
async def test_invalid_frames_get_error_without_ref_and_socket_stays(
    utd_engine: Engine, payload: str | bytes
) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            await ws.send_message(payload)
            error = await recv(ws)
            await send(ws, {"event": "ping", "ref": "after"})
            assert await recv(ws) == {"event": "pong", "ref": "after"}
    assert error["event"] == "error"
    assert "ref" not in error
    assert error["data"]["status"] == 422
    assert error["data"]["code"] == "invalid_frame"
    assert isinstance(error["data"]["message"], str)
    assert utd_engine.stats.invalid_frames == 1
    assert utd_engine.stats.frames_received == 2


async def test_oversize_frame_dropped_silently(utd_engine: Engine) -> None:
    big = json.dumps({"event": "ping", "ref": "big", "data": {"pad": "x" * (1024 * 1024)}})
    multibyte = json.dumps({"event": "ping", "ref": "mb", "data": {"pad": "é" * 600_000}})
    just_fits = {"event": "ping", "ref": "fits"}
    just_fits["pad"] = "y" * (1024 * 1024 - len(json.dumps({**just_fits, "pad": ""})))
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            await ws.send_message(big)
            await ws.send_message(multibyte)
            await send(ws, just_fits)
            assert await recv(ws) == {"event": "pong", "ref": "fits"}
    assert len(json.dumps(just_fits).encode()) == 1024 * 1024
    assert utd_engine.stats.oversize_frames == 2
    assert utd_engine.stats.invalid_frames == 0


async def test_unknown_event_404_with_ref(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            await send(ws, {"event": "no.such_thing", "ref": "u1", "data": {}})
            reply = await recv(ws)
            await send(ws, {"event": "ack", "ref": "u2"})
            reserved = await recv(ws)
    assert reply["event"] == "error"
    assert reply["ref"] == "u1"
    assert reply["data"]["status"] == 404
    assert reply["data"]["code"] == "unknown_event"
    assert reserved["data"]["code"] == "unknown_event"


async def _echo(state: EngineState, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    session.send("test.pushed", {"before_ack": True})
    return {"echo": data, "user": session.user_id}


async def _fail(state: EngineState, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    raise EngineError(409, "busy", "Callee is busy")


async def _crash(state: EngineState, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("boom")


async def test_registered_handler_ack_error_and_name_normalisation(utd_engine: Engine) -> None:
    utd_engine.registry.ws_handler("test.echo_back", _echo)
    utd_engine.registry.ws_handler("test.fail", _fail)
    utd_engine.registry.ws_handler("test.crash", _crash)
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            await send(ws, {"event": "test_echo.back", "ref": "e1", "data": {"a": 1}})
            pushed = await recv(ws)
            ack = await recv(ws)
            await send(ws, {"event": "test.echo.back", "ref": "e2"})
            await recv(ws)
            no_data = await recv(ws)
            await send(ws, {"event": "test.echo.back", "ref": "e3", "data": [1]})
            bad_data = await recv(ws)
            await send(ws, {"event": "test.fail", "ref": "f1"})
            failed = await recv(ws)
            await send(ws, {"event": "test.crash", "ref": "c1"})
            crashed = await recv(ws)
            await send(ws, {"event": "ping", "ref": "alive"})
            assert await recv(ws) == {"event": "pong", "ref": "alive"}
    assert pushed == {"event": "test.pushed", "data": {"before_ack": True}}
    assert ack == {"event": "ack", "ref": "e1", "data": {"echo": {"a": 1}, "user": "alice"}}
    assert no_data["data"] == {"echo": {}, "user": "alice"}
    assert bad_data["event"] == "error"
    assert bad_data["ref"] == "e3"
    assert bad_data["data"]["status"] == 422
    assert bad_data["data"]["code"] == "invalid"
    assert failed == {
        "event": "error",
        "ref": "f1",
        "data": {"status": 409, "code": "busy", "message": "Callee is busy"},
    }
    assert crashed["data"]["status"] == 500


def test_registry_refuses_duplicates_and_core_events() -> None:
    from utd_trio.testing import Registry

    registry = Registry()
    registry.ws_handler("a.b", _echo)
    with pytest.raises(ValueError, match="already"):
        registry.ws_handler("a_b", _echo)
    with pytest.raises(ValueError, match="reserved"):
        registry.ws_handler("ping", _echo)


@pytest.mark.parametrize(
    ("flags", "gate", "message"),
    [
        ({"signaling_enabled": False}, "signaling", "Signaling is not enabled for this plan"),
        ({"chat_enabled": False}, "chat", "Messaging is not enabled for this plan"),
    ],
)
async def test_capability_gate(flags: dict[str, Any], gate: str, message: str) -> None:
    project = ProjectConfig("app_g", "k", "s", **flags)
    with trio.fail_after(TIMEOUT):
        async with open_engine([project]) as engine:
            engine.registry.ws_handler("test.gated", _echo, gate=gate)  # type: ignore[arg-type]
            engine.registry.ws_handler("test.open", _echo)
            async with connect(engine) as (ws, _):
                await send(ws, {"event": "test.gated", "ref": "g1"})
                refused = await recv(ws)
                await send(ws, {"event": "test.open", "ref": "o1"})
                await recv(ws)
                opened = await recv(ws)
                await engine.set_plan(signaling_enabled=None, chat_enabled=None)
                assert (await recv(ws))["event"] == "capabilities.updated"
                await send(ws, {"event": "test.gated", "ref": "g2"})
                await recv(ws)
                allowed = await recv(ws)
    assert refused == {
        "event": "error",
        "ref": "g1",
        "data": {"status": 403, "code": "feature_disabled", "message": message},
    }
    assert opened["event"] == "ack"
    assert allowed["event"] == "ack"  # None = unknown = let it through


async def test_socket_hooks_run_on_open_and_close(utd_engine: Engine) -> None:
    seen: list[tuple[str, str, int]] = []

    async def opened(state: EngineState, session: Session) -> None:
        seen.append(("open", session.user_id, state.sockets.count(session.app_id, "alice")))
        session.send("test.welcome", {})

    async def closed(state: EngineState, session: Session) -> None:
        seen.append(("close", session.user_id, state.sockets.count(session.app_id, "alice")))

    utd_engine.registry.on_socket_open(opened)
    utd_engine.registry.on_socket_close(closed)
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            assert await recv(ws) == {"event": "test.welcome", "data": {}}
            [session] = utd_engine.sockets("alice")
        await utd_engine.wait_socket_count("alice", 0)
        await session.wait_finished()
    assert seen == [("open", "alice", 1), ("close", "alice", 0)]


async def _huge(state: EngineState, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    return {"pad": "x" * (1024 * 1024)}


async def test_engine_never_sends_an_oversize_frame(utd_engine: Engine) -> None:
    utd_engine.registry.ws_handler("test.huge", _huge)
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine) as (ws, _):
            await send(ws, {"event": "test.huge", "ref": "h"})
            reply = await recv(ws)
    assert reply["event"] == "error"
    assert reply["ref"] == "h"
    assert reply["data"]["status"] == 500
