"""GET /ws under control: bad tokens, idle close, bans, drops (clean and abrupt), stalls."""

from __future__ import annotations

import base64
import os

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection

from utd_trio.testing import Engine, open_engine

from ._helpers import TIMEOUT, connect, mint, open_ws, recv, send


async def _closed_code(ws: WebSocketConnection) -> int:
    with pytest.raises(ConnectionClosed) as info:
        await _read_forever(ws)
    assert info.value.reason is not None
    return info.value.reason.code


async def _read_forever(ws: WebSocketConnection) -> None:
    while True:
        await ws.get_message()


async def _read_raw_until_error(stream: trio.SocketStream) -> None:
    while True:
        data = await stream.receive_some(65536)
        assert data, "expected a reset, got EOF"
        assert b"\x88" not in data[:1], "got a close frame"


@pytest.mark.parametrize("token", ["", "utk_bogus", "Bearer"])
async def test_bad_token_upgrade_refused_401(utd_engine: Engine, token: str) -> None:
    with trio.fail_after(TIMEOUT), pytest.raises(ConnectionRejected) as info:
        async with open_ws(utd_engine, token):
            pass  # pragma: no cover
    assert info.value.status_code == 401
    assert info.value.body is not None
    assert b"message" in info.value.body
    assert utd_engine.socket_count("alice") == 0


async def test_token_via_authorization_header(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        token = await mint(utd_engine, "alice")
        async with open_ws(utd_engine, token, via_header=True) as ws:
            hello = await recv(ws)
    assert hello["data"]["user_id"] == "alice"


async def test_expired_token_refused(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT + 200):
        async with open_engine(token_ttl=100) as engine:
            token = await mint(engine, "alice")
            await trio.sleep(100)
            with pytest.raises(ConnectionRejected) as info:
                async with open_ws(engine, token):
                    pass  # pragma: no cover
    assert info.value.status_code == 401


async def test_revoked_token_refused_but_open_socket_stays(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            token = await mint(utd_engine, "alice")
            fresh_bob = await mint(utd_engine, "bob")
            assert utd_engine.revoke_tokens("alice") == 2
            with pytest.raises(ConnectionRejected) as info:
                async with open_ws(utd_engine, token):
                    pass  # pragma: no cover
            async with open_ws(utd_engine, fresh_bob) as bob:
                assert (await recv(bob))["event"] == "connection.established"
            await send(ws, {"event": "ping", "ref": "still"})
            assert await recv(ws) == {"event": "pong", "ref": "still"}
            fresh = await mint(utd_engine, "alice")
            async with open_ws(utd_engine, fresh) as again:
                assert (await recv(again))["event"] == "connection.established"
    assert info.value.status_code == 401


async def test_idle_socket_closed_4008(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(200):
        async with open_engine(heartbeat_interval=25) as engine:
            async with connect(engine, "alice") as (ws, _):
                start = trio.current_time()
                await trio.sleep(45)
                await send(ws, {"event": "ping", "ref": "keep"})  # any frame proves life
                assert await recv(ws) == {"event": "pong", "ref": "keep"}
                assert await _closed_code(ws) == 4008
                elapsed = trio.current_time() - start
            await engine.wait_socket_count("alice", 0)
    assert 95 <= elapsed < 96
    assert ws.closed is not None
    assert ws.closed.reason == "Heartbeat timeout"


async def test_ban_closes_open_sockets_4003_and_refuses_old_token(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        token = await mint(utd_engine, "alice")
        async with (
            connect(utd_engine, "alice") as (ws1, _),
            connect(utd_engine, "alice") as (ws2, _),
            connect(utd_engine, "bob") as (bob, _),
        ):
            assert await utd_engine.ban("alice") == 2
            assert utd_engine.socket_count("alice") == 0
            assert await _closed_code(ws1) == 4003
            assert await _closed_code(ws2) == 4003
            await send(bob, {"event": "ping", "ref": "b"})
            assert await recv(bob) == {"event": "pong", "ref": "b"}
        async with open_ws(utd_engine, token) as ws3:  # still-valid token: upgrade, then 4003
            assert await _closed_code(ws3) == 4003
    assert ws1.closed is not None
    assert "banned" in (ws1.closed.reason or "")
    assert utd_engine.socket_count("alice") == 0


@pytest.mark.parametrize("code", [1011, 1001, 4001, 4029])
async def test_drop_sockets_with_close_code(utd_engine: Engine, code: int) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            assert await utd_engine.drop_sockets("alice", code=code, reason="chaos") == 1
            assert utd_engine.socket_count("alice") == 0
            assert await _closed_code(ws) == code
    assert ws.closed is not None
    assert ws.closed.reason == "chaos"


async def test_drop_flushes_queued_frames_first(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            [session] = utd_engine.sockets("alice")
            session.send("test.last", {"n": 1})
            await utd_engine.drop_sockets("alice")
            assert await recv(ws) == {"event": "test.last", "data": {"n": 1}}
            assert await _closed_code(ws) == 1011


@pytest.mark.parametrize("tls", [False, True])
async def test_abrupt_drop_has_no_close_frame(tls: bool) -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine(tls=tls) as engine:
            async with connect(engine, "alice") as (ws, _), connect(engine, "bob") as (bob, _):
                assert await engine.drop_sockets("alice", code=None) == 1
                assert await _closed_code(ws) == 1006  # abnormal: no close frame arrived
                await send(bob, {"event": "ping", "ref": "b"})
                assert await recv(bob) == {"event": "pong", "ref": "b"}
            assert engine.socket_count("alice") == 0


async def test_abrupt_drop_resets_tcp(utd_engine: Engine) -> None:
    """Raw socket: after the drop the client reads ECONNRESET, not a close frame or EOF."""
    with trio.fail_after(TIMEOUT):
        token = await mint(utd_engine, "alice")
        host, port = utd_engine.base_url.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws?token={token} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await stream.send_all(request.encode())
        await utd_engine.wait_socket_count("alice", 1)
        received = b""
        while b"connection.established" not in received:
            received += await stream.receive_some(65536)
        await utd_engine.drop_sockets("alice", code=None)
        with pytest.raises(trio.BrokenResourceError) as info:
            await _read_raw_until_error(stream)
        await stream.aclose()
    assert isinstance(info.value.__cause__, ConnectionResetError)


async def test_stall_answers_nothing_until_unstalled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(1000):
        async with (
            open_engine(heartbeat_interval=25) as engine,
            connect(engine, "alice") as (ws, _),
        ):
            assert engine.stall_sockets("alice") == 1
            await send(ws, {"event": "ping", "ref": "s1"})
            [session] = engine.sockets("alice")
            session.send("test.held", {})
            with trio.move_on_after(300) as waited:  # 6x the idle limit: no 4008 either
                await ws.get_message()
            assert waited.cancelled_caught
            assert engine.socket_count("alice") == 1
            assert engine.unstall_sockets("alice") == 1
            assert await recv(ws) == {"event": "test.held", "data": {}}
            assert await recv(ws) == {"event": "pong", "ref": "s1"}
            await send(ws, {"event": "ping", "ref": "s2"})
            assert await recv(ws) == {"event": "pong", "ref": "s2"}


async def test_stalled_socket_still_notices_client_leaving(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            utd_engine.stall_sockets("alice")
            await send(ws, {"event": "ping", "ref": "lost"})
        await utd_engine.wait_socket_count("alice", 0)


async def test_stalled_socket_can_be_dropped(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            utd_engine.stall_sockets("alice")
            await send(ws, {"event": "ping", "ref": "lost"})
            await utd_engine.drop_sockets("alice", code=4001)
            assert await _closed_code(ws) == 4001  # the held pong is discarded


async def test_set_plan_pushes_full_capability_snapshot(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (a1, _), connect(utd_engine, "alice") as (a2, _):
            async with connect(utd_engine, "bob") as (bob, _):
                told = await utd_engine.set_plan(
                    chat_enabled=False, limits={"history_days": 7, "max_friends": None}
                )
                events = [await recv(ws) for ws in (a1, a2, bob)]
                told_again = await utd_engine.set_plan(signaling_enabled=None)
                unknown = await recv(a1)
            body = (await _mint_body(utd_engine)).json()
    assert told == 3
    assert told_again == 3
    expected = {
        "event": "capabilities.updated",
        "data": {
            "signaling_enabled": True,
            "messaging_enabled": False,
            "limits": {"history_days": 7, "max_friends": None},
        },
    }
    assert events == [expected] * 3
    assert unknown["data"] == {
        "messaging_enabled": False,
        "limits": {"history_days": 7, "max_friends": None},
    }
    assert "signaling_enabled" not in body
    assert body["messaging_enabled"] is False
    assert body["limits"] == {"history_days": 7, "max_friends": None}
    assert utd_engine.default_project.chat_enabled is False


async def test_set_plan_with_wire_overrides(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _):
            await utd_engine.set_plan(
                limits=None, wire_overrides={"signalingEnabled": "false", "user_token": "x"}
            )
            event = await recv(ws)
    assert event["data"] == {
        "signaling_enabled": True,
        "messaging_enabled": True,
        "signalingEnabled": "false",
    }


async def _mint_body(engine: Engine):  # type: ignore[no-untyped-def]
    from ._helpers import mint_response

    return await mint_response(engine, "carol")


async def test_wait_socket_count_is_event_driven(utd_engine: Engine) -> None:
    reached = trio.Event()

    async def waiter() -> None:
        await utd_engine.wait_socket_count("alice", 2)
        reached.set()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            async with connect(utd_engine, "alice"):
                await trio.testing.wait_all_tasks_blocked()
                assert not reached.is_set()
                async with connect(utd_engine, "alice"):
                    await reached.wait()
                    assert utd_engine.socket_count("alice") == 2
        await utd_engine.wait_socket_count("alice", 0)


async def test_engine_exit_closes_sockets_1001() -> None:
    stop = trio.Event()

    async def run_engine(*, task_status: trio.TaskStatus[Engine]) -> None:
        async with open_engine() as engine:
            task_status.started(engine)
            await stop.wait()

    with trio.fail_after(TIMEOUT):
        async with trio.open_nursery() as nursery:
            engine: Engine = await nursery.start(run_engine)
            async with connect(engine, "alice") as (ws, _):
                stop.set()  # the engine exits while the client is still connected
                assert await _closed_code(ws) == 1001


async def test_close_all(utd_engine: Engine) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (ws, _), connect(utd_engine, "bob") as (b, _):
            assert await utd_engine.close_all(1012, "restart") == 2
            assert await _closed_code(ws) == 1012
            assert await _closed_code(b) == 1012
