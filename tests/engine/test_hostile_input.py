"""Hostile input, engine side: lone surrogates are refused and never stored.

A lone surrogate (JSON ``"\\ud800"``) in any string of a frame or a REST body is a 422
``invalid``; afterwards both users keep working and history still answers 200.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio

from utd_trio.testing import Engine, open_engine
from utd_trio.testing._chat_store import ChatStore
from utd_trio.testing._groups_state import GroupStore
from utd_trio.testing._media import MediaStore

from ._helpers import TIMEOUT, connect, http_client, key_headers, mint, recv

LONE = "\\ud800"
"""A lone high surrogate as JSON text carries it (an escape; the frame itself is valid UTF-8)."""


def _frame(event: str, data: str) -> str:
    """A request frame whose ``data`` is given as JSON text (escapes kept as written)."""
    return f'{{"event":"{event}","ref":"r","data":{data}}}'


def _send(fields: str) -> str:
    return _frame("message.send", '{"client_id":"c","to":"bob",' + fields + "}")


WS_CASES = {
    "text": _send('"text":"hi \\ud800"'),
    "metadata value": _send('"text":"hi","metadata":{"a":[1,{"b":"\\udfff"}]}'),
    "metadata key": _send('"text":"hi","metadata":{"\\ud800":1}'),
    "attachment name": _send(
        '"attachment":{"url":"u","key":"k","content_type":"image/png","size":1,"name":"\\ud800"}'
    ),
    "client_id": _frame("message.send", '{"client_id":"\\ud800","to":"bob","text":"hi"}'),
    "recipient": _frame("message.send", '{"client_id":"c","to":"\\ud800","text":"hi"}'),
    "call metadata": _frame(
        "call.invite", '{"to":"bob","type":"audio","metadata":{"n":"\\udbff"}}'
    ),
    "presence ids": _frame("presence.subscribe", '{"user_ids":["bob","\\ud800"]}'),
    "event name": '{"event":"ping\\ud800","ref":"r"}',
    "unknown field": _frame("typing", '{"to":"bob","is_typing":true,"x":"\\ud800"}'),
    "ping data": _frame("ping", '{"x":"\\ud800"}'),
}


async def _ping(ws: Any, ref: str) -> None:
    await ws.send_message(json.dumps({"event": "ping", "ref": ref}))
    assert await recv(ws) == {"event": "pong", "ref": ref}


async def _history_ok(client: httpx.AsyncClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    response = await client.get("/api/v1/chat/conversations/dm:alice:bob/messages", headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []
    response = await client.get("/api/v1/chat/conversations", headers=auth)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("frame", list(WS_CASES.values()), ids=list(WS_CASES))
async def test_lone_surrogate_in_a_frame_is_refused_and_not_stored(
    utd_engine: Engine, frame: str
) -> None:
    with trio.fail_after(TIMEOUT):
        async with (
            connect(utd_engine, "alice") as (alice, _),
            connect(utd_engine, "bob") as (bob, _),
        ):
            await alice.send_message(frame)
            error = await recv(alice)
            assert error["event"] == "error"
            assert error["ref"] == "r"
            assert error["data"]["status"] == 422
            assert error["data"]["code"] == "invalid"
            assert "surrogate" in error["data"]["message"]
            # Both sockets stay up; bob got nothing (his next frame is his own pong).
            await _ping(alice, "a1")
            await _ping(bob, "b1")
            # A valid message still goes through and reaches bob.
            await alice.send_message(
                json.dumps(
                    {
                        "event": "message.send",
                        "ref": "ok",
                        "data": {"client_id": "ok", "to": "bob", "text": "é"},
                    }
                )
            )
            ack = await recv(alice)
            assert ack["event"] == "ack", ack
            assert ack["data"]["seq"] == 1  # the refused one took no seq
            assert (await recv(bob))["data"]["text"] == "é"
            async with http_client(utd_engine) as client:
                token = await mint(utd_engine, "bob")
                response = await client.get(
                    "/api/v1/chat/conversations/dm:alice:bob/messages",
                    headers={"Authorization": f"Bearer {token}"},
                )
    assert response.status_code == 200
    assert [m["text"] for m in response.json()["data"]] == ["é"]


async def test_lone_surrogate_in_the_ref_gets_an_invalid_frame_without_ref(
    utd_engine: Engine,
) -> None:
    with trio.fail_after(TIMEOUT):
        async with connect(utd_engine, "alice") as (alice, _):
            await alice.send_message('{"event":"ping","ref":"\\ud800"}')
            error = await recv(alice)
            await _ping(alice, "after")
    assert error["event"] == "error"
    assert "ref" not in error
    assert error["data"]["code"] == "invalid_frame"
    assert utd_engine.state.domain(ChatStore).get("app_test", "dm:alice:bob") is None


REST_CASES: dict[str, tuple[str, str, str]] = {
    "group name": ("POST", "/api/v1/chat/groups", '{"name":"g\\ud800","member_ids":["bob"]}'),
    "group member ids": ("POST", "/api/v1/chat/groups", '{"name":"g","member_ids":["\\ud800"]}'),
    "rename": ("PATCH", "/api/v1/chat/groups/{gid}", '{"name":"\\udfff"}'),
    "add members": ("POST", "/api/v1/chat/groups/{gid}/members", '{"user_ids":["\\ud800"]}'),
    "role": ("PUT", "/api/v1/chat/groups/{gid}/members/bob/role", '{"role":"\\ud800"}'),
    "push token": (
        "POST",
        "/api/v1/devices/push-token",
        '{"token":"t\\ud800","platform":"ios","provider":"apns"}',
    ),
    "unregister push token": ("DELETE", "/api/v1/devices/push-token", '{"token":"\\ud800"}'),
    "presign filename": (
        "POST",
        "/api/v1/media/presign",
        '{"filename":"\\ud800.png","content_type":"image/png","size":1}',
    ),
    "presign conversation": (
        "POST",
        "/api/v1/media/presign",
        '{"filename":"a.png","content_type":"image/png","size":1,"conversation_id":"\\ud800"}',
    ),
    "raw UTF-8 surrogate bytes": ("POST", "/api/v1/chat/groups", '{"name":"g\udc80"}'),
}


def _body(text: str) -> bytes:
    # "surrogatepass" lets the last case carry the bytes ED B2 80 (CESU-style), which
    # json.loads on bytes decodes to a lone surrogate too.
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("case", list(REST_CASES.values()), ids=list(REST_CASES))
async def test_lone_surrogate_in_a_rest_body_is_refused_and_not_stored(
    utd_engine: Engine, case: tuple[str, str, str]
) -> None:
    method, path, body = case
    with trio.fail_after(TIMEOUT):
        token = await mint(utd_engine, "alice")
        auth = {"Authorization": f"Bearer {token}"}
        async with http_client(utd_engine) as client:
            made = await client.post(
                "/api/v1/chat/groups", headers=auth, json={"name": "g", "member_ids": ["bob"]}
            )
            gid = made.json()["group_id"]
            response = await client.request(
                method, path.format(gid=gid), headers=auth, content=_body(body)
            )
            groups = await client.get("/api/v1/chat/groups", headers=auth)
            await _history_ok(client, token)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid"
    assert "surrogate" in response.json()["message"]
    assert groups.status_code == 200, groups.text
    assert [(g["name"], len(g["members"])) for g in groups.json()["data"]] == [("g", 2)]
    assert utd_engine.push_tokens("alice") == {}
    assert utd_engine.state.domain(GroupStore).of_user("app_test", "alice")[0].name == "g"


@pytest.mark.parametrize(
    "field", ["identity", "name", "os", "os_version", "device_model", "app_version"]
)
async def test_lone_surrogate_in_a_mint_body_is_refused(utd_engine: Engine, field: str) -> None:
    body = {"identity": "carol", field: f"x{LONE}"}
    content = json.dumps(body).replace("\\\\", "\\").encode()
    with trio.fail_after(TIMEOUT):
        async with http_client(utd_engine) as client:
            response = await client.post(
                "/api/v1/auth/session", headers=key_headers(utd_engine), content=content
            )
            again = await client.post(
                "/api/v1/auth/session", headers=key_headers(utd_engine), json={"identity": "carol"}
            )
    assert response.status_code == 422, response.text
    assert "message" in response.json()
    assert again.status_code == 200
    assert utd_engine.state.profiles[("app_test", "carol")].name is None


async def test_upload_quota_per_user() -> None:
    with trio.fail_after(TIMEOUT):
        async with open_engine(upload_quota=1000) as engine, http_client(engine) as client:
            alice = {"Authorization": f"Bearer {await mint(engine, 'alice')}"}
            bob = {"Authorization": f"Bearer {await mint(engine, 'bob')}"}

            async def presign(auth: dict[str, str], size: int) -> httpx.Response:
                body = {"filename": "f.bin", "content_type": "application/x-test", "size": size}
                return await client.post("/api/v1/media/presign", headers=auth, json=body)

            async def put(ticket: httpx.Response, size: int) -> httpx.Response:
                return await client.put(
                    ticket.json()["upload_url"],
                    headers=ticket.json()["headers"],
                    content=b"x" * size,
                )

            first = await presign(alice, 600)
            assert (await put(first, 600)).status_code == 200
            assert (await put(first, 600)).status_code == 200  # a retry replaces, counted once
            over = await presign(alice, 500)
            second, third = await presign(alice, 400), await presign(alice, 400)
            assert (await put(second, 400)).status_code == 200  # exactly at the quota
            late = await put(third, 400)  # presigned while there was room; no room now
            missing = await client.get(third.json()["file_url"])
            other_user = await presign(bob, 1000)
    assert over.status_code == 403
    assert over.json()["code"] == "limit_exceeded"
    assert late.status_code == 403
    assert late.json()["code"] == "limit_exceeded"
    assert missing.status_code == 404
    assert other_user.status_code == 200
    store = engine.state.domain(MediaStore)
    assert store.used_by("app_test", "alice") == 1000


async def _raw_request(engine: Engine, head: str, body: bytes) -> bytes:
    """Send a whole request (head, then every body byte) before reading, like curl does."""
    host, port = engine.base_url.removeprefix("http://").split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(head.encode() + b"\r\n\r\n")
        view = memoryview(body)
        for start in range(0, len(body), 1 << 16):
            await stream.send_all(view[start : start + (1 << 16)])
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = await stream.receive_some(65536)
            assert chunk, answer
            answer += chunk
    return answer


@pytest.mark.parametrize("size", [2 << 20, 30 << 20])
async def test_bodies_over_the_limit_get_413_not_a_reset(utd_engine: Engine, size: int) -> None:
    with trio.fail_after(TIMEOUT * 2):
        token = await mint(utd_engine, "alice")
        async with http_client(utd_engine) as client:
            ticket = await client.post(
                "/api/v1/media/presign",
                headers={"Authorization": f"Bearer {token}"},
                json={"filename": "a.bin", "content_type": "application/x-test", "size": 1000},
            )
        upload = ticket.json()["upload_url"].removeprefix(utd_engine.base_url)
        body = b"x" * size
        heads = {
            "json": f"POST /api/v1/chat/groups HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json",
            "put": f"PUT {upload} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-test",
            "mint": "POST /api/v1/auth/session HTTP/1.1\r\nHost: t\r\n"
            + "".join(f"\r\n{k}: {v}" for k, v in key_headers(utd_engine).items())[2:],
        }
        answers = {
            name: await _raw_request(utd_engine, f"{head}\r\nContent-Length: {size}", body)
            for name, head in heads.items()
        }
        chunked = await _raw_request(
            utd_engine,
            heads["put"] + "\r\nTransfer-Encoding: chunked",
            b"".join(b"%x\r\n%s\r\n" % (1 << 20, b"y" * (1 << 20)) for _ in range(size >> 20))
            + b"0\r\n\r\n",
        )
    for name, answer in {**answers, "chunked put": chunked}.items():
        assert answer.startswith(b"HTTP/1.1 413"), (name, answer[:200])
        assert b"connection: close" in answer.lower(), name
