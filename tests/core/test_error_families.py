"""``except`` by family against the reference engine: a refused request is a `Forbidden` (a
`FeatureDisabled` for a plan without chat), a refused first connect a `ConnectionError`."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import pytest

from utd_trio import (
    ConnectionFailed,
    ErrorCode,
    FeatureDisabled,
    Forbidden,
    Session,
    UTDStreamError,
    open_signal_client,
    open_signaling,
)
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]
IO = 10


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_except_by_family_on_real_refusals(utd_engine: Engine, creds: Creds) -> None:
    # pytest.raises(X) matches exactly as ``except X`` does.
    with anyio.fail_after(IO):
        async with open_signaling(**creds(utd_engine)) as sig:
            await utd_engine.set_plan(chat_enabled=False)
            with pytest.raises(Forbidden) as refused:
                await sig.send_message(to="bob", text="hi")  # a WebSocket error frame
            assert isinstance(refused.value, FeatureDisabled)
            assert refused.value.is_chat_disabled
            with pytest.raises(FeatureDisabled) as gated:
                await sig.history("dm:alice:bob")  # a REST 403
            assert gated.value.code is ErrorCode.FEATURE_DISABLED

    port = _free_port()
    with anyio.fail_after(IO), pytest.raises(ConnectionError) as failed:
        async with open_signaling(**creds(utd_engine, base_url=f"http://127.0.0.1:{port}")):
            pytest.fail("connected to a closed port")
    assert isinstance(failed.value, UTDStreamError)
    assert failed.value.code is ErrorCode.NETWORK
    assert "connection refused" in failed.value.message


@asynccontextmanager
async def _hang_up_during_upgrade() -> AsyncGenerator[int]:
    """A 127.0.0.1 port that reads the upgrade request, then closes without an answer."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")

    async def hang_up(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            with contextlib.suppress(anyio.EndOfStream):
                await stream.receive()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, hang_up)
        yield listener.extra(anyio.abc.SocketAttribute.local_port)
        tg.cancel_scope.cancel()


async def test_a_classified_handshake_failure_is_not_translated_twice() -> None:
    # A NETWORK error is also an OSError: the handshake's OSError translation must let the
    # already classified error through unchanged.
    with anyio.fail_after(IO):
        async with _hang_up_during_upgrade() as port:
            session = Session(user_token="tok", ws_url=f"ws://127.0.0.1:{port}/ws")
            with pytest.raises(ConnectionFailed) as info:
                async with open_signal_client(session, connect_timeout=IO / 2):
                    pytest.fail("connected to a peer that hung up")
    assert info.value.message == (
        "WebSocket handshake failed: the server closed the connection during the upgrade"
    )
