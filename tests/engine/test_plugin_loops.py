"""``utd_engine`` / ``utd_engine_tls`` serve pytest-trio, anyio and pytest-asyncio suites.

Each test writes a tiny suite of its own kind (its own ini, so this project's ``trio_mode``
does not apply) and runs it in a pytest subprocess with every installed plugin loaded; the
inner tests mint over REST and read the WebSocket hello, so they pass only if the engine
answered on the inner test's event loop.
"""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

DEADLINE = 120.0

# Shared by every inner suite: a REST mint and the /ws hello, with raw clients only.
HELPERS = """
import json
import ssl

import httpx

from utd_trio.testing import Engine


def verify(engine: Engine) -> ssl.SSLContext | bool:
    return engine.client_ssl_context() if engine.tls else True


async def mint(engine: Engine, identity: str = "alice") -> dict:
    project = engine.default_project
    headers = {"X-App-Id": project.app_id, "X-App-Key": project.app_key}
    async with httpx.AsyncClient(base_url=engine.base_url, verify=verify(engine)) as http:
        response = await http.post(
            "/api/v1/auth/session", headers=headers, json={"identity": identity}
        )
    assert response.status_code == 200, response.text
    return response.json()


async def hello_over_asyncio(engine: Engine, identity: str = "alice") -> dict:
    from websockets.asyncio.client import connect

    minted = await mint(engine, identity)
    tls = engine.client_ssl_context() if engine.tls else None
    async with connect(f"{minted['ws_url']}?token={minted['user_token']}", ssl=tls) as ws:
        return json.loads(await ws.recv())
"""

ASYNCIO_SUITE = """
import asyncio

import pytest

from helpers import hello_over_asyncio, mint


@pytest.mark.asyncio
async def test_hello(utd_engine):
    asyncio.get_running_loop()
    hello = await hello_over_asyncio(utd_engine)
    assert hello["event"] == "connection.established"
    assert utd_engine.base_url.startswith("http://127.0.0.1:")


@pytest.mark.asyncio
async def test_hello_over_tls(utd_engine_tls):
    hello = await hello_over_asyncio(utd_engine_tls, "bob")
    assert hello["event"] == "connection.established"
    assert utd_engine_tls.base_url.startswith("https://127.0.0.1:")


@pytest.mark.asyncio(loop_scope="module")
async def test_module_loop(utd_engine):
    assert (await mint(utd_engine))["user_token"]


@pytest.mark.asyncio
async def test_drop(utd_engine):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError

    minted = await mint(utd_engine)
    async with connect(f"{minted['ws_url']}?token={minted['user_token']}") as ws:
        await ws.recv()
        assert await utd_engine.drop_sockets("alice", code=None) == 1
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
"""

ANYIO_SUITE = """
import pytest
import sniffio

from helpers import hello_over_asyncio, mint

pytestmark = pytest.mark.anyio


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request):
    return request.param


async def test_mint(utd_engine, anyio_backend):
    assert (await mint(utd_engine))["user_token"]
    expected = anyio_backend if isinstance(anyio_backend, str) else anyio_backend[0]
    assert sniffio.current_async_library() == expected


async def test_mint_over_tls(utd_engine_tls):
    assert (await mint(utd_engine_tls, "bob"))["user_token"]


async def test_hello(utd_engine):
    if sniffio.current_async_library() != "asyncio":
        pytest.skip("the websockets client is asyncio only")
    assert (await hello_over_asyncio(utd_engine))["event"] == "connection.established"
"""

TRIO_SUITE = """
import httpx
import pytest
import trio
import trio_websocket

from helpers import mint

{mark}

PUSH = "/api/v1/devices/push-token"


async def test_hello(utd_engine):
    minted = await mint(utd_engine)
    url = f"{{minted['ws_url']}}?token={{minted['user_token']}}"
    async with trio_websocket.open_websocket_url(url) as ws:
        assert '"connection.established"' in await ws.get_message()


async def test_tls(utd_engine_tls):
    assert (await mint(utd_engine_tls, "bob"))["user_token"]


async def test_autojump_clock_drives_the_engine(utd_engine, autojump_clock):
    minted = await mint(utd_engine)
    auth = {{"Authorization": f"Bearer {{minted['user_token']}}"}}
    async with httpx.AsyncClient(base_url=utd_engine.base_url, headers=auth) as http:
        assert (await http.post(PUSH, json={{}})).status_code != 401
        await trio.sleep(minted["expires_in"] + 1)  # virtual time: the token expires at once
        assert (await http.post(PUSH, json={{}})).status_code == 401
"""


SYNC_SUITE = """
def test_sync(utd_engine):
    pass
"""


def run_suites(pytester: pytest.Pytester, ini: str, **suites: str) -> pytest.RunResult:
    pytester.makeini(textwrap.dedent(ini))
    pytester.makepyfile(helpers=HELPERS, **suites)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-rfE", timeout=DEADLINE)


def test_one_session_serves_asyncio_anyio_and_trio_tests(pytester: pytest.Pytester) -> None:
    """pytest-asyncio (strict), anyio (three backends) and marked pytest-trio tests together."""
    ini = """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        filterwarnings = error
    """
    result = run_suites(
        pytester,
        ini,
        test_asyncio=ASYNCIO_SUITE,
        test_anyio=ANYIO_SUITE,
        test_trio=TRIO_SUITE.format(mark="pytestmark = pytest.mark.trio"),
        test_sync=SYNC_SUITE,
    )
    result.assert_outcomes(passed=4 + 8 + 3, skipped=1, errors=1)
    result.stdout.fnmatch_lines(["*utd_engine starts the reference engine in the event loop*"])


def test_trio_mode_suite(pytester: pytest.Pytester) -> None:
    """Under ``trio_mode`` pytest-trio runs every async test, as in this project's own suite."""
    ini = """
        [pytest]
        trio_mode = true
        asyncio_default_fixture_loop_scope = function
        filterwarnings = error
    """
    result = run_suites(pytester, ini, test_trio=TRIO_SUITE.format(mark=""))
    result.assert_outcomes(passed=3)
