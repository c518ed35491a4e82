"""Local validation: ValueError naming the field, raised before anything touches the network.

Every api here points at a closed loopback port, so a request that slipped through would
fail with NETWORK instead of the expected ValueError.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from utd_trio import Session, UTDApi

pytestmark = pytest.mark.both_loops


@pytest.fixture
async def api(closed_port: int) -> UTDApi:
    api = UTDApi(app_id="app_test", app_key="k", base_url=f"http://127.0.0.1:{closed_port}")
    api.bind_session(Session(user_token="t", ws_url="ws://127.0.0.1:1/ws"))
    return api


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"app_id": ""}, "app_id"),
        ({"app_id": "app x"}, "app_id"),
        ({"app_id": "app\r\nX-Evil: 1"}, "app_id"),
        ({"app_id": "a", "base_url": ""}, "base_url"),
        ({"app_id": "a", "base_url": "ftp://example.com"}, "base_url"),
        ({"app_id": "a", "base_url": "http://example.com"}, "base_url"),
        ({"app_id": "a", "base_url": "https://"}, "base_url"),
        ({"app_id": "a", "app_key": ""}, "app_key"),
        ({"app_id": "a", "app_secret": " "}, "app_secret"),
        ({"app_id": "a", "app_key": "k", "app_secret": "s"}, "app_key or app_secret"),
        ({"app_id": "a", "timeout": 0}, "timeout"),
        ({"app_id": "a", "timeout": -1.0}, "timeout"),
        ({"app_id": "a", "timeout": float("nan")}, "timeout"),
        ({"app_id": "a", "timeout": True}, "timeout"),
    ],
)
def test_constructor_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        UTDApi(**kwargs)


def test_secret_values_are_not_echoed_in_validation_errors() -> None:
    with pytest.raises(ValueError, match="app_secret") as info:
        UTDApi(app_id="a", app_secret="bad secret value")
    assert "bad secret value" not in str(info.value)


async def test_plain_http_needs_loopback_or_allow_insecure() -> None:
    for url in ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "http://127.8.0.1"]:
        async with UTDApi(app_id="a", base_url=url):
            pass
    async with UTDApi(app_id="a", base_url="http://example.com/", allow_insecure=True) as api:
        assert api.base_url == "http://example.com"


def test_ssl_context_must_be_an_ssl_context() -> None:
    with pytest.raises(ValueError, match="ssl_context"):
        UTDApi(app_id="a", ssl_context="/etc/ssl/certs")  # type: ignore[arg-type]


_BAD_CALLS: list[tuple[str, Callable[[UTDApi], Awaitable[object]], str]] = [
    ("mint-identity", lambda a: a.mint_session("a b"), "identity"),
    ("mint-name-cap", lambda a: a.mint_session("alice", name="n" * 101), "name"),
    ("presence-str", lambda a: a.presence("alice"), "user_ids"),
    ("presence-bad-id", lambda a: a.presence(["ok", "not ok"]), "user_ids"),
    ("presence-too-many", lambda a: a.presence([f"u{i}" for i in range(1001)]), "user_ids"),
    ("push-empty", lambda a: a.register_push_token("", platform="ios", provider="apns"), "token"),
    (
        "push-platform",
        lambda a: a.register_push_token("t", platform="x", provider="fcm"),
        "platform",
    ),
    (
        "push-provider",
        lambda a: a.register_push_token("t", platform="ios", provider="x"),
        "provider",
    ),
    ("unpush-empty", lambda a: a.unregister_push_token(" "), "token"),
    ("presign-filename", lambda a: a.presign_upload("", "image/png", 1), "filename"),
    ("presign-ctype", lambda a: a.presign_upload("a.png", "png", 1), "content_type"),
    ("presign-ctype-crlf", lambda a: a.presign_upload("a", "a/b\r\nX: y", 1), "content_type"),
    ("presign-size", lambda a: a.presign_upload("a.png", "image/png", -1), "size"),
    ("presign-size-bool", lambda a: a.presign_upload("a.png", "image/png", True), "size"),
    (
        "presign-cid",
        lambda a: a.presign_upload("a.png", "image/png", 1, conversation_id=""),
        "conversation_id",
    ),
    ("upload-bytes-no-name", lambda a: a.upload(b"x", content_type="text/plain"), "filename"),
    ("upload-ctype", lambda a: a.upload(b"x", filename="x", content_type=""), "content_type"),
    ("upload-type", lambda a: a.upload(42, content_type="text/plain"), "data"),  # type: ignore[arg-type]
    ("history-cid", lambda a: a.history(""), "conversation_id"),
    ("history-limit-0", lambda a: a.history("dm:a:b", limit=0), "limit"),
    ("history-limit-201", lambda a: a.history("dm:a:b", limit=201), "limit"),
    ("history-after", lambda a: a.history("dm:a:b", after=-1), "after"),
    ("history-before", lambda a: a.history("dm:a:b", before=-1), "before"),
    ("group-name", lambda a: a.create_group(" ", ["bob"]), "name"),
    ("group-members-str", lambda a: a.create_group("g", "bob"), "member_ids"),
    ("group-id", lambda a: a.get_group(""), "group_id"),
    ("rename-name", lambda a: a.rename_group("g1", ""), "name"),
    ("add-none", lambda a: a.add_group_members("g1", []), "user_ids"),
    ("remove-uid", lambda a: a.remove_group_member("g1", "no way"), "user_id"),
    ("role-owner", lambda a: a.set_group_role("g1", "bob", "owner"), "role"),
    ("leave-gid", lambda a: a.leave_group(""), "group_id"),
]


@pytest.mark.parametrize(("call", "field"), [pytest.param(c, f, id=i) for i, c, f in _BAD_CALLS])
async def test_call_validation(
    api: UTDApi, call: Callable[[UTDApi], Awaitable[object]], field: str
) -> None:
    async with api:
        with pytest.raises(ValueError, match=field):
            await call(api)


async def test_presence_of_nobody_needs_no_request(api: UTDApi) -> None:
    async with api:
        assert await api.presence([]) == ()


async def test_upload_of_a_missing_file_fails_before_the_network(
    api: UTDApi, tmp_path: Any
) -> None:
    async with api:
        with pytest.raises(FileNotFoundError):
            await api.upload(tmp_path / "nope.bin", content_type="application/octet-stream")
        with pytest.raises(ValueError, match="regular file"):
            await api.upload(tmp_path, content_type="application/octet-stream")


def test_bind_session_needs_a_session() -> None:
    api = UTDApi(app_id="a")
    with pytest.raises(ValueError, match="session"):
        api.bind_session({"user_token": "t"})  # type: ignore[arg-type]
