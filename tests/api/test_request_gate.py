"""REST exchanges are gated per httpx client: a crowd of sessions sharing one client waits its
turn in the library (at most `MAX_IN_FLIGHT` in flight), not in httpx's pool queue."""

from __future__ import annotations

import anyio
import httpx
import pytest

from utd_trio import Session
from utd_trio._rest._gate import MAX_IN_FLIGHT
from utd_trio.testing import Engine

from .conftest import make_api

pytestmark = pytest.mark.both_loops

IO_DEADLINE = 60


class CountingTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, counting the exchanges in flight (request sent, body not read)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            response = await self.inner.handle_async_request(request)
            body = await response.aread()
            await response.aclose()
        finally:
            self.in_flight -= 1
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_mints_of_many_sessions_on_one_client_wait_in_the_gate(utd_engine: Engine) -> None:
    transport = CountingTransport()
    minted: list[Session] = []
    with anyio.fail_after(IO_DEADLINE):
        async with httpx.AsyncClient(transport=transport) as client:

            async def mint(i: int) -> None:
                async with make_api(utd_engine, http_client=client) as api:
                    minted.append(await api.mint_session(f"crowd_{i}"))

            async with anyio.create_task_group() as tg:
                for i in range(3 * MAX_IN_FLIGHT):
                    tg.start_soon(mint, i)
    assert len(minted) == 3 * MAX_IN_FLIGHT
    # httpx alone would have had up to its pool's 100 connections busy (and queued the rest).
    assert transport.peak <= MAX_IN_FLIGHT
    assert transport.in_flight == 0
