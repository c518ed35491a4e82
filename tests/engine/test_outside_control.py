"""Evidence for issue 13: an outside client drives every contract §12 control call.

``utd-trio serve --control --config <tmp>/engine.json`` runs as a separate process (the config
is ``_serve_process.CONFIG``: project ``a1`` with ``history_days`` 30, project ``a2`` hardened
with signalling off, messaging ``"absent"`` and ``limits: null``, ``a1/mallory`` banned). This
module talks to it with httpx and trio-websocket only: it imports nothing from ``utd_trio``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio
import trio_websocket

from ._outside import TIMEOUT, Control, Peer, mint, peer
from ._serve_process import running_serve, write_config

SECTION_12_CALLS = {
    ("POST", "drop"),
    ("POST", "stall"),
    ("GET", "capabilities"),
    ("POST", "capabilities"),
    ("POST", "ban"),
    ("POST", "fail_mints"),
    ("POST", "expire_tokens"),
    ("GET", "config"),
    ("POST", "config"),
    ("POST", "age_messages"),
    ("GET", "sockets"),
    ("GET", "stats"),
}
"""Every row of the §12 table (capabilities and config count twice: read and change)."""


async def _plan_and_history(control: Control, http: httpx.AsyncClient, ws_url: str) -> None:
    """capabilities GET/POST, sockets, age_messages."""
    a2 = await control.call("GET", "capabilities", params={"app_id": "a2"})
    assert a2 == {"app_id": "a2", "signaling_enabled": False, "allow_appkey_identity_mint": False}
    await control.call("GET", "capabilities", params={"app_id": "nope"}, expect=404)
    async with (
        peer(http, ws_url, "a1", "alice", "k1") as alice,
        peer(http, ws_url, "a1", "bob", "k1") as bob,
    ):
        listed = await control.call("GET", "sockets", params={"app_id": "a1"})
        assert sorted(s["user_id"] for s in listed["data"]) == ["alice", "bob"]
        assert {s["socket_id"] for s in listed["data"]} == {
            alice.hello["socket_id"],
            bob.hello["socket_id"],
        }
        only = await control.call("GET", "sockets", params={"app_id": "a1", "user_id": "bob"})
        assert [s["channels"] for s in only["data"]] == [[]]
        joined = await bob.request("channel.subscribe", {"channel": "room-1"}, "j")
        assert joined["event"] == "ack", joined
        only = await control.call("GET", "sockets", params={"app_id": "a1", "user_id": "bob"})
        assert [s["channels"] for s in only["data"]] == [["room-1"]]

        # A live plan change: both sockets hear it, the gate closes at once.
        changed = await control.call(
            "POST",
            "capabilities",
            {"app_id": "a1", "messaging_enabled": False, "limits": {"history_days": 1}},
        )
        assert changed["sockets_told"] == 2
        for user in (alice, bob):
            update = (await user.next("capabilities.updated"))["data"]
            assert update == {
                "signaling_enabled": True,
                "messaging_enabled": False,
                "limits": {"history_days": 1},
            }
        send = {"client_id": "c1", "to": "bob", "text": "hello"}
        refused = await alice.request("message.send", send, "m0")
        assert (refused["event"], refused["data"]["code"]) == ("error", "feature_disabled")
        await control.call("POST", "capabilities", {"app_id": "a1", "messaging_enabled": True})
        assert (await alice.request("message.send", send, "m1"))["event"] == "ack"

        # Two days into the past: beyond history_days 1, so history is empty.
        auth = {"Authorization": f"Bearer {bob.token}"}
        path = "/api/v1/chat/conversations/dm:alice:bob/messages"
        assert len((await http.get(path, headers=auth)).json()["data"]) == 1
        aged = await control.call("POST", "age_messages", {"app_id": "a1", "days": 2})
        assert aged == {"messages": 1}
        assert (await http.get(path, headers=auth)).json()["data"] == []
        await control.call("POST", "age_messages", {"app_id": "zz", "days": 2}, expect=404)


async def _faults(control: Control, http: httpx.AsyncClient, ws_url: str) -> None:
    """stall, drop (with and without a code), ban and unban."""
    async with peer(http, ws_url, "a1", "carol", "k1") as carol:
        stalled = await control.call(
            "POST", "stall", {"app_id": "a1", "user_id": "carol", "seconds": 0.5}
        )
        assert stalled == {"sockets": 1}
        start = trio.current_time()
        await carol.send({"event": "ping", "ref": "p"})
        assert await carol.next("pong", "p") == {"event": "pong", "ref": "p"}
        assert trio.current_time() - start >= 0.45  # answered only once the stall ended
        dropped = await control.call("POST", "drop", {"user_id": "carol", "code": 4000})
        assert dropped == {"sockets": 1}
        assert await carol.close_code() == 4000
    async with peer(http, ws_url, "a1", "carol", "k1") as carol:
        await control.call("POST", "drop", {"app_id": "a1", "user_id": "carol"})
        assert await carol.close_code() == 1006  # TCP reset, no close frame
    async with peer(http, ws_url, "a1", "dan", "k1") as dan:
        banned = await control.call("POST", "ban", {"app_id": "a1", "identity": "dan"})
        assert banned["sockets_closed"] == 1
        assert await dan.close_code() == 4003
    refused = await mint(http, "a1", "dan", "k1")
    assert (refused.status_code, refused.json()["code"]) == (403, "banned")
    await control.call("POST", "ban", {"app_id": "a1", "identity": "dan", "banned": False})
    assert (await mint(http, "a1", "dan", "k1")).status_code == 200
    mallory = await mint(http, "a1", "mallory", "k1")  # banned by the config file
    assert mallory.status_code == 403


async def _mints_and_tokens(control: Control, http: httpx.AsyncClient, ws_url: str) -> None:
    """fail_mints, expire_tokens."""
    queued = await control.call("POST", "fail_mints", {"count": 1, "status": 429, "retry_after": 7})
    assert queued == {"count": 1, "status": 429}
    failed = await mint(http, "a1", "erin", "k1")
    assert (failed.status_code, failed.headers["retry-after"]) == (429, "7")
    assert (await mint(http, "a1", "erin", "k1")).status_code == 200
    async with peer(http, ws_url, "a1", "erin", "k1") as erin:
        expired = await control.call(
            "POST", "expire_tokens", {"app_id": "a1", "user_id": "erin", "close": True}
        )
        assert expired["tokens"] >= 2
        assert expired["sockets_closed"] == 1
        assert await erin.close_code() == 4001
    auth = {"Authorization": f"Bearer {erin.token}"}
    assert (await http.get("/api/v1/chat/conversations", headers=auth)).status_code == 401
    rejected: trio_websocket.ConnectionRejected | None = None
    try:
        async with trio_websocket.open_websocket_url(f"{ws_url}?token={erin.token}"):
            pass
    except trio_websocket.ConnectionRejected as error:
        rejected = error
    assert rejected is not None
    assert rejected.status_code == 401


async def _timers(control: Control, http: httpx.AsyncClient, ws_url: str) -> None:
    """config GET/POST: new sockets and calls use the new timers."""
    assert await control.call("GET", "config") == {
        "heartbeat_interval": 25,
        "ring_timeout": 30,
        "token_ttl": 3600,
        "mint_rate_limit": 120,
    }
    changed = await control.call("POST", "config", {"heartbeat_interval": 9, "ring_timeout": 0.5})
    assert (changed["heartbeat_interval"], changed["ring_timeout"]) == (9, 0.5)
    await control.call("POST", "config", {"ring_timeout": -1}, expect=422)
    async with (
        peer(http, ws_url, "a1", "gina", "k1") as gina,
        peer(http, ws_url, "a1", "hal", "k1") as hal,
    ):
        assert gina.hello["heartbeat_interval"] == 9
        invite = await gina.request("call.invite", {"to": "hal", "type": "audio"}, "c1")
        call_id = invite["data"]["call_id"]
        assert (await hal.next("call.incoming"))["data"]["call_id"] == call_id
        # Nobody answers: the 0.5 s ring timeout ends the call for both sides.
        for side in (gina, hal):
            assert (await side.next("call.missed"))["data"]["call_id"] == call_id


async def _stats(control: Control, before: dict[str, int]) -> None:
    after = await control.call("GET", "stats")
    for name in ("sockets", "users_online", "mints", "mints_failed", "sockets_opened"):
        assert isinstance(after[name], int), name
    assert after["mints"] > before["mints"]
    assert after["mints_failed"] >= before["mints_failed"] + 3  # 429, banned x2
    assert after["sockets_opened"] >= before["sockets_opened"] + 7
    assert after["frames_in"] > before["frames_in"]
    assert after["frames_out"] > before["frames_out"]
    assert after["frames_dropped"] == before["frames_dropped"]


async def test_every_control_call_from_another_process(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with trio.fail_after(TIMEOUT * 3):
        async with running_serve("--control", "--config", str(config)) as served:
            assert served.value("control").startswith(served.base_url + "/_control")
            async with httpx.AsyncClient(base_url=served.base_url, timeout=TIMEOUT) as http:
                control = Control(http)
                before = await control.call("GET", "stats")
                await _plan_and_history(control, http, served.ws_url)
                await _faults(control, http, served.ws_url)
                await _mints_and_tokens(control, http, served.ws_url)
                await _timers(control, http, served.ws_url)
                await _stats(control, before)
                # The plane's own answers for what is not a call or not a body.
                await control.call("GET", "drop", expect=404)
                await control.call("POST", "no_such_call", {}, expect=404)
                await control.call("POST", "stall", {"seconds": "soon"}, expect=422)
                await control.call("POST", "drop", {"user": "x"}, expect=422)
    assert control.covered == SECTION_12_CALLS
    assert len(control.covered) == 12


async def test_control_plane_answers_unknown_peers_only_when_asked(tmp_path: Path) -> None:
    # Without --control the plane does not exist: every /_control path is a plain 404.
    with trio.fail_after(TIMEOUT):
        async with running_serve("--config", str(write_config(tmp_path))) as served:
            async with httpx.AsyncClient(base_url=served.base_url) as http:
                for method, name in sorted(SECTION_12_CALLS):
                    response = await http.request(method, f"/_control/{name}", json={})
                    assert response.status_code in (404, 405), (method, name)
                mint_ok = await mint(http, "a1", "alice", "k1")
    assert mint_ok.status_code == 200


async def test_stall_holds_only_the_matching_user(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with running_serve("--control", "--config", str(write_config(tmp_path))) as served:
            async with httpx.AsyncClient(base_url=served.base_url) as http:
                control = Control(http)
                ws_url = served.ws_url
                async with (
                    peer(http, ws_url, "a1", "ann", "k1") as ann,
                    peer(http, ws_url, "a1", "ben", "k1") as ben,
                ):
                    await control.call("POST", "stall", {"user_id": "ann", "seconds": 30})
                    await ann.send({"event": "ping", "ref": "held"})
                    await ben.send({"event": "ping", "ref": "free"})
                    assert await ben.next("pong", "free") == {"event": "pong", "ref": "free"}
                    listed = await control.call("GET", "sockets", params={"user_id": "ann"})
                    assert [s["stalled"] for s in listed["data"]] == [True]
                    await _expect_silence(ann)


async def _expect_silence(user: Peer) -> None:
    # The stalled socket answers nothing; give it a moment to prove it (bounded).
    with trio.move_on_after(0.3) as waited:
        await user.next("pong", "held")
    assert waited.cancelled_caught
