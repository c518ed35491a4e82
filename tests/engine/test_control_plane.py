"""The control plane in-process: the EngineControl methods behind ``/_control`` and its guards."""

from __future__ import annotations

import httpx
import pytest
import trio
import trio.testing

from utd_trio.testing import Engine, ProjectConfig, open_engine
from utd_trio.testing._app import build_app
from utd_trio.testing._control import EVERY
from utd_trio.testing._control_http import is_loopback

from ._helpers import TIMEOUT, connect, recv, send


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.1.2.3", False),
        ("::ffff:10.1.2.3", False),
        ("192.168.0.1", False),
        ("localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_peers(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def _via_peer(engine: Engine, host: str, method: str, path: str) -> httpx.Response:
    # The engine's real ASGI app with the control plane, as a client at `host` reaches it.
    app = build_app(engine.state, lambda _peer: False, engine)
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
        return await client.request(method, path, json={})


async def test_a_non_loopback_peer_is_refused_403() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine(control_http=True) as engine:
            far = await _via_peer(engine, "10.1.2.3", "POST", "/_control/drop")
            near = await _via_peer(engine, "127.0.0.1", "GET", "/_control/stats")
            unknown_far = await _via_peer(engine, "10.1.2.3", "GET", "/_control/nope")
    assert (far.status_code, far.json()["code"]) == (403, "forbidden")
    assert unknown_far.status_code == 403  # nothing about the plane is told to a remote peer
    assert near.status_code == 200


async def test_http_plane_answers() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine(control_http=True) as engine:
            assert engine.control_url == engine.base_url + "/_control"
            async with httpx.AsyncClient(base_url=engine.base_url) as http:
                big = await http.post("/_control/drop", content=b"{" + b" " * 70_000 + b"}")
                empty = await http.post("/_control/expire_tokens")
                typo = await http.post("/_control/drop", json={"user": "alice"})
                wrong_type = await http.post("/_control/ban", json={"app_id": 1, "identity": "x"})
                unknown_app = await http.get("/_control/sockets", params={"app_id": "zz"})
                method = await http.delete("/_control/stats")
                root = await http.get("/_control")
    assert big.status_code == 413
    assert empty.json() == {"tokens": 0, "sockets_closed": 0}  # an empty body is {}
    assert (typo.status_code, typo.json()["code"]) == (422, "invalid")
    assert "user" in typo.json()["message"]
    assert wrong_type.status_code == 422
    assert unknown_app.status_code == 404
    assert method.status_code == 404
    assert root.status_code == 404


async def test_filters_every_project_or_the_default() -> None:
    projects = [ProjectConfig("p1", "k1", "s1"), ProjectConfig("p2", "k2", "s2")]
    with trio.fail_after(TIMEOUT):
        async with (
            open_engine(projects) as engine,
            connect(engine, "alice", "p1"),
            connect(engine, "alice", "p2"),
        ):
            assert len(engine.sockets_matching()) == 2
            assert len(engine.sockets_matching(None)) == 1  # None = the default project
            assert [s.app_id for s in engine.sockets_matching("p2", "alice")] == ["p2"]
            assert engine.sockets_matching(EVERY, "bob") == []
            with pytest.raises(KeyError):
                engine.sockets_matching("p3")
            assert await engine.drop_matching("p2", code=1012) == 1
            assert [s.app_id for s in engine.sockets_matching()] == ["p1"]


async def test_stall_for_resumes_after_the_time(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(TIMEOUT * 10):
        async with open_engine(heartbeat_interval=1000) as engine, connect(engine) as (ws, _):
            assert engine.stall_for(30, user_id="alice") == 1
            start = trio.current_time()
            await send(ws, {"event": "ping", "ref": "held"})
            assert await recv(ws) == {"event": "pong", "ref": "held"}
            assert trio.current_time() - start >= 30
            # An indefinite stall is not ended by an earlier timed one.
            engine.stall_for(5, user_id="alice")
            engine.stall_sockets("alice")
            await trio.sleep(10)
            assert engine.sockets("alice")[0].stalled
            engine.unstall_sockets("alice")
    with pytest.raises(ValueError, match="seconds"):
        engine.stall_for(0)


async def test_configure_and_its_checks() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine() as engine:
            settings = engine.configure(heartbeat_interval=7, mint_rate_limit=0)
            assert (settings.heartbeat_interval, settings.mint_rate_limit) == (7, None)
            async with connect(engine) as (_, hello):
                assert hello["heartbeat_interval"] == 7
            for bad in ({"ring_timeout": 0}, {"token_ttl": float("inf")}, {"mint_rate_limit": -1}):
                with pytest.raises(ValueError, match=next(iter(bad))):
                    engine.configure(**bad)  # type: ignore[arg-type]
            assert engine.settings.ring_timeout == 30


async def test_mint_policy_alone_tells_no_socket() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine() as engine, connect(engine) as (ws, _):
            assert await engine.set_plan(allow_appkey_identity_mint=False) == 0
            assert not engine.project().allow_appkey_identity_mint
            assert await engine.set_plan(chat_enabled=False) == 1
            assert (await recv(ws))["event"] == "capabilities.updated"


async def test_expire_tokens_without_close_keeps_sockets() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine() as engine, connect(engine) as (ws, _):
            assert await engine.expire_tokens(user_id="alice") == (1, 0)
            await send(ws, {"event": "ping", "ref": "still"})
            assert await recv(ws) == {"event": "pong", "ref": "still"}
            assert engine.counters()["sockets"] == 1
