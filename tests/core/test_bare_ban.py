"""A bare 4003 (no reason text) is told apart: BANNED when the engine says the user is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from utd_trio import Disconnected, ErrorCode, UTDStreamError, open_signaling
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]


async def test_bare_4003_of_a_banned_user_is_banned(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine)) as sig, sig.events(Disconnected) as ev:
            # Close without a reason first, then ban: the close frame says nothing, only
            # the engine's mint can tell.
            for socket in utd_engine.sockets("alice"):
                socket.close(4003, "")
            await utd_engine.ban("alice")
            last = await ev.receive()
            assert not last.will_retry
            await anyio.sleep_forever()
    assert info.value.code is ErrorCode.BANNED
    assert info.value.is_banned
    assert info.value.status == 4003
    assert sig.last_disconnect is not None
    assert sig.last_disconnect.code == 4003


async def test_bare_4003_of_a_user_not_banned_is_forbidden(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine)):
            mints = utd_engine.mint_count("alice")
            await utd_engine.drop_sockets("alice", code=4003, reason="")
            await anyio.sleep_forever()
    assert info.value.code is ErrorCode.FORBIDDEN
    assert not info.value.is_banned
    assert utd_engine.mint_count("alice") == mints + 1  # exactly one look-up, no reconnect
    assert utd_engine.socket_count("alice") == 0


async def test_4003_saying_banned_is_banned(utd_engine: Engine, creds: Creds) -> None:
    with anyio.fail_after(10), pytest.raises(UTDStreamError) as info:
        async with open_signaling(**creds(utd_engine)):
            await utd_engine.ban("alice")
            await anyio.sleep_forever()
    assert info.value.is_banned
    assert info.value.message == "User is banned"
