"""Your own exceptions are yours: raised inside ``open_signaling``, they leave it unchanged."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from utd_trio import Disconnected, Session, UTDStreamError, open_signal_client, open_signaling
from utd_trio.testing import Engine

pytestmark = pytest.mark.both_loops

Creds = Callable[..., dict[str, Any]]


class Mine(Exception):
    """An application's own error."""


def _open_missing(tmp_path: Path) -> None:
    with open(tmp_path / "missing"):
        pass


async def test_oserror_in_a_connected_session_is_not_network(
    utd_engine: Engine, creds: Creds, tmp_path: Path
) -> None:
    with anyio.fail_after(10), pytest.raises(FileNotFoundError) as info:
        async with open_signaling(**creds(utd_engine)):
            _open_missing(tmp_path)
    assert not isinstance(info.value, UTDStreamError)
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "_open_missing" in frames  # the traceback still points at the user's code
    assert info.value.__context__ is None
    await utd_engine.wait_socket_count("alice", 0)


async def test_custom_exception_keeps_identity_and_cause(utd_engine: Engine, creds: Creds) -> None:
    raised = Mine("mine")
    root = KeyError("root")
    with anyio.fail_after(10), pytest.raises(Mine) as info:
        async with open_signaling(**creds(utd_engine)):
            raise raised from root
    assert info.value is raised
    assert info.value.__cause__ is root


async def test_oserror_while_reconnecting_is_the_users(
    utd_engine: Engine, creds: Creds, tmp_path: Path
) -> None:
    # No virtual time needed: the user's error comes right after the first Disconnected.
    with anyio.fail_after(10), pytest.raises(FileNotFoundError):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events(Disconnected) as ev:
            utd_engine.fail_next_mints(100, 503)
            await utd_engine.drop_sockets("alice", code=None)
            lost = await ev.receive()
            assert isinstance(lost, Disconnected)
            assert lost.will_retry
            _open_missing(tmp_path)


async def test_custom_exception_while_reconnecting_is_the_users(
    utd_engine: Engine, creds: Creds
) -> None:
    with anyio.fail_after(10), pytest.raises(Mine, match="while reconnecting"):
        async with open_signaling(**creds(utd_engine)) as sig, sig.events(Disconnected) as ev:
            utd_engine.fail_next_mints(100, 503)
            await utd_engine.drop_sockets("alice", code=None)
            lost = await ev.receive()
            assert isinstance(lost, Disconnected)
            assert lost.will_retry
            raise Mine("while reconnecting")


async def test_oserror_in_a_session_provider_is_the_users(utd_engine: Engine) -> None:
    project = utd_engine.default_project

    async def provider() -> dict[str, Any]:
        raise PermissionError("cannot read the key file")

    with anyio.fail_after(10), pytest.raises(PermissionError, match="key file"):
        async with open_signaling(
            app_id=project.app_id,
            user_id="alice",
            session_provider=provider,
            base_url=utd_engine.base_url,
        ):
            pytest.fail("connected without a session")


async def test_oserror_inside_open_signal_client_is_the_callers(
    utd_engine: Engine, tmp_path: Path
) -> None:
    project = utd_engine.default_project
    session = await _mint(utd_engine, project.app_id, project.app_key)
    with anyio.fail_after(10), pytest.raises(FileNotFoundError):
        async with open_signal_client(session):
            _open_missing(tmp_path)
    await utd_engine.wait_socket_count("alice", 0)


async def _mint(engine: Engine, app_id: str, app_key: str) -> Session:
    from utd_trio import UTDApi

    async with UTDApi(app_id=app_id, app_key=app_key, base_url=engine.base_url) as api:
        return await api.mint_session("alice", bind=False)
