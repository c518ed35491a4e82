"""Fuzz the engine's REST surface: hostile bodies, headers and queries never get a 5xx or hang.

Targets: the session mint (``POST /api/v1/auth/session``) with every credential shape, and
every bearer route the engine has registered (domain routes are picked up as they land),
plus paths that do not exist. The property: the engine answers within the case timeout, with
a 2xx only for valid input, otherwise a 4xx whose body is ``{"message": str, ...}`` — never a
5xx, never a dropped connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ._host import EngineHost, engine_host
from ._strategies import (
    BigBytes,
    bodies,
    choice_or_random,
    extra_headers,
    header_value,
    json_values,
    query,
    text,
    with_surrogate,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MINT = "/api/v1/auth/session"
# Contract paths (protocol §4) whether or not their domain has landed, and some that never exist.
KNOWN_PATHS = [
    "/api/v1/devices/push-token",
    "/api/v1/media/presign",
    "/api/v1/presence",
    "/api/v1/chat/conversations",
    "/api/v1/chat/conversations/{cid}/messages",
    "/api/v1/chat/groups",
    "/api/v1/chat/groups/{gid}",
    "/api/v1/chat/groups/{gid}/members",
    "/api/v1/chat/groups/{gid}/members/{uid}",
    "/api/v1/chat/groups/{gid}/members/{uid}/role",
    "/api/v1/chat/groups/{gid}/leave",
    "/ws",
    "/",
    "/api/v1/nope",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
PARAM = re.compile(r"\{([a-z_]+)(:[a-z]+)?\}")


@pytest.fixture(scope="module")
def host() -> Iterator[EngineHost]:
    with engine_host() as running:
        project = running.engine.default_project

        async def mint() -> str:
            response = await running.http.post(
                MINT,
                headers={"X-App-Id": project.app_id, "X-App-Key": project.app_key},
                json={"identity": "fuzzer"},
            )
            assert response.status_code == 200, response.text
            token: str = response.json()["user_token"]
            return token

        running.state["token"] = running.run(mint)
        yield running


async def _post_raw(
    host: EngineHost,
    method: str,
    path: str,
    headers: dict[str, bytes | str],
    body: bytes,
    params: dict[str, str],
) -> httpx.Response:
    return await host.http.request(method, path, headers=headers, content=body, params=params)


def _check_reply(response: httpx.Response, what: str) -> None:
    status = response.status_code
    assert status < 500, f"{what}: {status} {response.text[:300]!r}"
    if status >= 400 and response.request.method != "HEAD":
        body: Any = response.json()
        assert isinstance(body, dict), f"{what}: error body {body!r}"
        assert isinstance(body.get("message"), str), f"{what}: error body {body!r}"


@FUZZ
@given(
    app_id=choice_or_random(["app_test", None], header_value),
    key=choice_or_random(["key_test", None], header_value),
    secret=choice_or_random([None, "secret_test"], header_value),
    body=bodies,
    extra=extra_headers,
    params=query,
    content_type=choice_or_random(["application/json", None], header_value),
)
@example(
    app_id="app_test",
    key="key_test",
    secret=None,
    body=BigBytes(b"[" * 5000 + b"]" * 5000),
    extra={},
    params={},
    content_type=None,
)
@example(
    app_id="app_test",
    key="key_test",
    secret=None,
    body=BigBytes(b'{"identity": "' + b"a" * (2 * 1024 * 1024) + b'"}'),
    extra={},
    params={},
    content_type=None,
)
@example(
    app_id="app_test",
    key="key_test",
    secret=None,
    body=BigBytes(b'{"identity": "\xff\xfe"}'),
    extra={},
    params={},
    content_type=None,
)
def test_mint_never_5xx(
    host: EngineHost,
    app_id: str | bytes | None,
    key: str | bytes | None,
    secret: str | bytes | None,
    body: bytes,
    extra: dict[str, bytes],
    params: dict[str, str],
    content_type: str | bytes | None,
) -> None:
    headers: dict[str, bytes | str] = dict(extra)
    for name, value in (
        ("X-App-Id", app_id),
        ("X-App-Key", key),
        ("X-App-Secret", secret),
        ("Content-Type", content_type),
    ):
        if value is not None:
            headers[name] = value
    response = host.run(_post_raw, host, "POST", MINT, headers, body, params)
    _check_reply(response, "mint")
    if response.status_code == 200:
        # Only a well-formed request with one right credential may succeed.
        assert (key == "key_test") != (secret == "secret_test")
        assert app_id == "app_test"
        assert json.loads(body)["identity"]
    elif app_id != "app_test" or (key is None and secret is None):
        assert response.status_code in (401, 422, 429), response.text


@FUZZ
@given(
    body=bodies,
    headers=extra_headers,
    params=query,
)
def test_mint_wrong_method_and_media_type(
    host: EngineHost, body: bytes, headers: dict[str, bytes], params: dict[str, str]
) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = host.run(_post_raw, host, method, MINT, dict(headers), body, params)
        assert response.status_code == 405, response.text
        _check_reply(response, f"{method} mint")


def _fill(path: str, values: list[str]) -> str:
    it = iter(values)
    return PARAM.sub(lambda _m: quote(next(it, "x"), safe=""), path)


@FUZZ
@given(
    route=st.integers(min_value=0, max_value=10_000),
    method=st.sampled_from(METHODS),
    auth=st.sampled_from(["valid", "none", "garbage", "basic", "empty", "random"]),
    random_auth=header_value,
    path_values=st.lists(text | st.sampled_from(["..", "%00", "a/b", "dm:a:b", ""]), max_size=3),
    body=bodies,
    params=query,
    extra=extra_headers,
)
def test_bearer_routes_never_5xx(
    host: EngineHost,
    route: int,
    method: str,
    auth: str,
    random_auth: bytes,
    path_values: list[str],
    body: bytes,
    params: dict[str, str],
    extra: dict[str, bytes],
) -> None:
    registered = [spec.path for spec in host.engine.registry.routes]
    paths = sorted(set(registered) | set(KNOWN_PATHS))
    path = _fill(paths[route % len(paths)], path_values)
    headers: dict[str, bytes | str] = dict(extra)
    headers.pop("Authorization", None)
    headers.pop("authorization", None)
    token = host.state["token"]
    authorization = {
        "valid": f"Bearer {token}",
        "none": None,
        "garbage": "Bearer utk_not_a_token",
        "basic": "Basic dXNlcjpwYXNz",
        "empty": "Bearer",
        "random": random_auth,
    }[auth]
    if authorization is not None:
        headers["Authorization"] = authorization
    response = host.run(_post_raw, host, method, path, headers, body, params)
    _check_reply(response, f"{method} {path}")
    if auth != "valid" and response.status_code < 300:
        # Only unauthenticated surfaces may answer without a valid token (a 3xx is starlette
        # redirecting a trailing slash: no data).
        assert path == "/" or not path.startswith("/api/v1/"), (path, response.status_code)


JSON_ROUTES = [
    ("POST", MINT),
    ("POST", "/api/v1/chat/groups"),
    ("POST", "/api/v1/devices/push-token"),
    ("DELETE", "/api/v1/devices/push-token"),
    ("POST", "/api/v1/media/presign"),
]
FIELD_NAMES = ["identity", "name", "member_ids", "token", "platform", "filename", "x"]


@FUZZ
@given(
    route=st.sampled_from(JSON_ROUTES),
    fields=st.dictionaries(st.sampled_from(FIELD_NAMES) | text, json_values, max_size=3),
    key=st.sampled_from(FIELD_NAMES) | text,
    bad=with_surrogate,
)
def test_a_lone_surrogate_in_a_json_body_is_422(
    host: EngineHost, route: tuple[str, str], fields: dict[str, Any], key: str, bad: Any
) -> None:
    method, path = route
    project = host.engine.default_project
    headers: dict[str, bytes | str] = (
        {"X-App-Id": project.app_id, "X-App-Key": project.app_key}
        if path == MINT
        else {"Authorization": f"Bearer {host.state['token']}"}
    )
    body = json.dumps({**fields, key: bad}).encode()
    response = host.run(_post_raw, host, method, path, headers, body, {})
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["message"]
