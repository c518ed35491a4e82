"""Bad input at ``utd-trio serve`` from another process (issue 13): it answers and stays up.

Malformed JSON, oversize bodies and frames, wrong content types, forged and foreign tokens,
garbage and partial requests, thrown at a separate ``serve --control --config`` process over
raw TCP, httpx and trio-websocket (no ``utd_trio`` import). After each round a well-behaved
client is still served, and the process still exits 130 on Ctrl-C (see ``running_serve``).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import trio
import trio_websocket

from ._outside import TIMEOUT, Control, mint, peer
from ._serve_process import Served, running_serve, write_config

MINT = "/api/v1/auth/session"
A1 = {"X-App-Id": "a1", "X-App-Key": "k1"}


async def _still_served(http: httpx.AsyncClient, ws_url: str) -> None:
    """A well-behaved client mints, connects and gets a pong."""
    async with peer(http, ws_url, "a1", "witness", "k1") as witness:
        await witness.send({"event": "ping", "ref": "alive"})
        assert await witness.next("pong", "alive") == {"event": "pong", "ref": "alive"}


async def _raw(served: Served, payload: bytes, *, read: bool = True) -> bytes:
    """Send raw bytes on a fresh TCP connection; what came back before the engine closed it."""
    address = urlsplit(served.base_url)
    assert address.hostname is not None
    assert address.port is not None
    stream = await trio.open_tcp_stream(address.hostname, address.port)
    async with stream:
        await stream.send_all(payload)
        answer = b""
        while read and (chunk := await stream.receive_some(65536)):
            answer += chunk
            if b"\r\n\r\n" in answer:
                break
        return answer


async def _bodies(served: Served, http: httpx.AsyncClient) -> None:
    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        (MINT, A1, b'{"identity":', 422),
        (MINT, A1, b"[1, 2", 422),
        (MINT, A1, b'"alice"', 422),
        (MINT, A1, b"\xff\xfe\x00garbage", 422),
        (MINT, A1, b"[" * 100_000, 413),  # over the mint's 64 KiB
        (MINT, A1, b'{"identity": "' + b"a" * 2_000_000 + b'"}', 413),
        (MINT, {**A1, "Content-Type": "application/x-www-form-urlencoded"}, b"identity=x", 422),
        (MINT, {**A1, "Content-Type": "text/plain"}, b'{"identity": "plain"}', 200),
        ("/_control/stall", {}, b'{"seconds": NaN}', 422),
        ("/_control/stall", {}, b'{"seconds": 1e999}', 422),
        ("/_control/drop", {}, b"[]", 422),
        ("/_control/drop", {}, b"{" * 50_000, 422),
        ("/_control/drop", {}, b'{"code": 1005}', 422),
        ("/_control/fail_mints", {}, b'{"count": true, "status": 500}', 422),
        ("/_control/ban", {}, b'{"app_id": "a1"}', 422),
        ("/_control/ban", {}, b'{"app_id": "a1", "identity": "x"' + b" " * 100_000 + b"}", 413),
        ("/_control/capabilities", {}, b'{"app_id": "a1", "limits": [1]}', 422),
        ("/_control/capabilities", {}, b'{"app_id": "nope"}', 404),
        ("/_control/ban", {}, b'{"app_id": "a1", "identity": "\\ud800"}', 422),
        ("/_control/drop", {}, b'{"user_id": "x", "reason": "\\udfff"}', 422),
    ]
    for path, headers, body, status in cases:
        response = await http.post(path, headers=headers, content=body)
        assert response.status_code == status, (path, body[:40], response.text)
        assert isinstance(response.json(), dict)


async def _tokens(served: Served, http: httpx.AsyncClient) -> None:
    ws_url = served.ws_url
    forged = [
        "utk_" + "A" * 43,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",  # a JWT from elsewhere
        "x" * 4000,
        "utk_' OR 1=1 --",
    ]
    for token in forged:
        response = await http.get(
            "/api/v1/chat/conversations", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token[:20]
        rejected: trio_websocket.ConnectionRejected | None = None
        try:
            async with trio_websocket.open_websocket_url(f"{ws_url}?token={quote(token)}"):
                pass
        except trio_websocket.ConnectionRejected as error:
            rejected = error
        assert rejected is not None
        assert rejected.status_code == 401
    for header in ("Bearer", "Basic YWxpY2U6cHc=", "bearer  x y", "Token abc"):
        response = await http.get("/api/v1/chat/conversations", headers={"Authorization": header})
        assert response.status_code == 401, header
    # A foreign token: a user of project a2 sees nothing of project a1.
    async with peer(http, ws_url, "a1", "alice", "k1") as alice:
        sent = await alice.request(
            "message.send", {"client_id": "s1", "to": "bob", "text": "secret"}, "m"
        )
        assert sent["event"] == "ack"
    outsider = await http.post(
        MINT, headers={"X-App-Id": "a2", "X-App-Secret": "s2"}, json={"identity": "alice"}
    )
    auth = {"Authorization": f"Bearer {outsider.json()['user_token']}"}
    seen = await http.get("/api/v1/chat/conversations/dm:alice:bob/messages", headers=auth)
    assert seen.status_code in (200, 403, 404)
    assert "secret" not in seen.text
    # And a1's key does not open a2, nor a2's secret a1.
    assert (await mint(http, "a2", "x", "k1")).status_code == 401
    crossed = await http.post(
        MINT, headers={"X-App-Id": "a1", "X-App-Secret": "s2"}, json={"identity": "x"}
    )
    assert crossed.status_code == 401


async def _frames(served: Served, http: httpx.AsyncClient) -> None:
    async with peer(http, served.ws_url, "a1", "frank", "k1") as frank:
        for junk in ("not json", "[1,2]", '{"event": 5}', "[" * 100_000, '{"data": {}}'):
            await frank.send(junk)
            error = await frank.next("error")
            assert (error["data"]["code"], "ref" in error) == ("invalid_frame", False)
        await frank.ws.send_message(b'{"event": "ping", "ref": "bin"}')
        assert (await frank.next("error"))["data"]["code"] == "invalid_frame"
        await frank.send('{"event": "ping", "ref": "big", "pad": "' + "x" * 1_100_000 + '"}')
        await frank.send({"event": "ping", "ref": "after"})
        assert await frank.next("pong", "after") == {"event": "pong", "ref": "after"}
        assert not [f for f in frank.inbox if f.get("ref") == "big"]  # dropped, no reply


async def _partial_requests(served: Served, http: httpx.AsyncClient) -> None:
    # Garbage and half-sent requests on raw connections, held open while others are served.
    garbage = await _raw(served, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfcGARBAGE\r\n\r\n")
    assert garbage == b"" or garbage.startswith(b"HTTP/1.1 4")
    address = urlsplit(served.base_url)
    assert address.hostname is not None
    assert address.port is not None
    partial = [
        b"POST /api/v1/auth/session HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        b"GET /api/v1/chat/conv",
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        b"POST /_control/stall HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n",
    ] * 10
    streams: list[trio.SocketStream] = []
    try:
        for payload in partial:
            stream = await trio.open_tcp_stream(address.hostname, address.port)
            streams.append(stream)
            await stream.send_all(payload)
        await _still_served(http, served.ws_url)
        assert (await Control(http).call("GET", "stats"))["mints"] >= 1  # control still answers
    finally:
        for stream in streams:
            await stream.aclose()
    # A body promised with Content-Length and cut short by the client closing.
    short = b"POST /api/v1/auth/session HTTP/1.1\r\nHost: x\r\nX-App-Id: a1\r\nX-App-Key: k1\r\n"
    await _raw(served, short + b'Content-Length: 1000\r\n\r\n{"identity"', read=False)


async def test_bad_input_from_another_process_leaves_the_engine_serving(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT * 4):
        async with running_serve("--control", "--config", str(write_config(tmp_path))) as served:
            async with httpx.AsyncClient(base_url=served.base_url, timeout=TIMEOUT) as http:
                for round_ in (_bodies, _tokens, _frames, _partial_requests):
                    await round_(served, http)
                    await _still_served(http, served.ws_url)
                stats = await Control(http).call("GET", "stats")
    assert stats["frames_dropped"] >= 1
    assert stats["mints_failed"] >= 8
