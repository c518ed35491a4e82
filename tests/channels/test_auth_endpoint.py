"""``channel_auth=URL``: the app's own Pusher-style auth endpoint, served for real on loopback.

The endpoint is a Starlette route (as in docs/channels.md) served by hypercorn (on the
running loop, through the engine's serving seam); it signs with
`UTDApi.authorize_channel` after checking the app's own credential (a bearer header the
session sends through ``channel_auth_headers``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from utd_trio import ErrorCode, UTDApi, UTDStreamError, open_signaling
from utd_trio.testing import Engine
from utd_trio.testing._server import ConnectionTable, open_listener

from ._helpers import Creds

pytestmark = pytest.mark.both_loops

APP_TOKENS = {"token-of-alice": "alice"}  # the app's own session tokens → its user ids


def auth_app(api: UTDApi, app_key: str, asked: list[dict[str, str]]) -> Starlette:
    async def pusher_auth(request: Request) -> Response:
        user = APP_TOKENS.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if user is None:
            return JSONResponse({"message": "who are you?"}, status_code=403)
        form = parse_qs((await request.body()).decode())
        socket_id, channel = form["socket_id"][0], form["channel_name"][0]
        asked.append({"socket_id": socket_id, "channel_name": channel})
        if channel.startswith("presence-"):
            grant = api.authorize_channel(
                socket_id, channel, user, {"via": "endpoint"}, app_key=app_key
            )
        else:
            grant = api.authorize_channel(socket_id, channel, app_key=app_key)
        return JSONResponse(grant)

    return Starlette(routes=[Route("/pusher/auth", pusher_auth, methods=["POST"])])


@asynccontextmanager
async def auth_endpoint(engine: Engine, asked: list[dict[str, str]]) -> AsyncIterator[str]:
    # Served by the engine's own serving seam (hypercorn on the running loop's listener).
    project = engine.default_project
    listener = await open_listener("127.0.0.1", 0, None)
    async with (
        UTDApi(
            app_id=project.app_id, app_secret=project.app_secret, base_url=engine.base_url
        ) as api,
        anyio.create_task_group() as tg,
    ):
        app = auth_app(api, project.app_key, asked)
        await tg.start(listener.serve, app, ConnectionTable())
        host, port = listener.address
        yield f"http://{host}:{port}/pusher/auth"
        tg.cancel_scope.cancel()


async def test_grants_come_from_the_apps_endpoint(utd_engine: Engine, creds: Creds) -> None:
    asked: list[dict[str, str]] = []
    with anyio.fail_after(10):
        async with auth_endpoint(utd_engine, asked) as url:
            headers = {"Authorization": "Bearer token-of-alice"}
            extra = {"channel_auth": url, "channel_auth_headers": headers}
            async with (
                open_signaling(**creds(utd_engine, "alice", **extra)) as alice,
                alice.subscribe_channel("presence-lounge") as lounge,
                alice.subscribe_channel("private-notes"),
                alice.subscribe_channel("public-board"),  # public: no grant asked
            ):
                assert dict(lounge.members) == {"alice": {"via": "endpoint"}}
                client = alice.client
                assert client is not None
                socket_id = client.hello.socket_id
                assert asked == [
                    {"socket_id": socket_id, "channel_name": "presence-lounge"},
                    {"socket_id": socket_id, "channel_name": "private-notes"},
                ]


async def test_the_endpoint_refusing_is_forbidden(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10):
        async with auth_endpoint(utd_engine, []) as url:
            async with open_signaling(**creds(utd_engine, "alice", channel_auth=url)) as alice:
                with pytest.raises(UTDStreamError) as caught:
                    async with alice.subscribe_channel("private-notes"):
                        pytest.fail("unreachable")
                assert caught.value.code is ErrorCode.FORBIDDEN
                assert "who are you?" in caught.value.message


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channel_auth": 42}, TypeError, "channel_auth must be None"),
        ({"channel_auth": "ftp://x/auth"}, ValueError, "http"),
        ({"channel_auth": "http://example.com/auth"}, ValueError, "not loopback"),
        ({"channel_auth_headers": {"a": "b"}}, ValueError, "go with a channel_auth URL"),
        (
            {"channel_auth": "http://127.0.0.1:9/a", "channel_auth_headers": {"a": 1}},
            TypeError,
            "map str to str",
        ),
    ],
)
async def test_bad_channel_auth_is_refused_before_connecting(
    utd_engine: Engine, creds: Creds, kwargs: dict[str, object], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        async with open_signaling(**creds(utd_engine, "alice", **kwargs)):
            pytest.fail("unreachable")
