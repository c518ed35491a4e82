"""Helpers of the group tests: sessions and REST clients of several users on one engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import httpx

from utd_trio import Event, EventStream, Group, Signaling, UTDApi, open_signaling
from utd_trio.testing import Engine

E = TypeVar("E", bound=Event)


class Peer:
    """An open session with an event stream subscribed from its first connection."""

    def __init__(self, sig: Signaling, stream: EventStream[Event]) -> None:
        self.sig = sig
        self.stream = stream

    async def next(self, kind: type[E]) -> E:
        """The next event of ``kind`` this peer received (other kinds are skipped)."""
        async for ev in self.stream:
            if isinstance(ev, kind):
                return ev
        raise AssertionError(f"stream ended before a {kind.__name__}")


def creds(engine: Engine, user: str) -> dict[str, Any]:
    """Keyword arguments of `open_signaling` for ``user`` in the default project."""
    project = engine.default_project
    return {
        "app_id": project.app_id,
        "app_key": project.app_key,
        "user_id": user,
        "base_url": engine.base_url,
    }


@asynccontextmanager
async def peers(engine: Engine, *users: str) -> AsyncIterator[list[Peer]]:
    """Open one session per name (a repeated name is a second device of that user)."""
    async with AsyncExitStack() as stack:
        result: list[Peer] = []
        for user in users:
            sig = await stack.enter_async_context(open_signaling(**creds(engine, user)))
            stream = await stack.enter_async_context(sig.events())
            result.append(Peer(sig, stream))
        yield result


@asynccontextmanager
async def apis(engine: Engine, *users: str) -> AsyncIterator[list[UTDApi]]:
    """A minted `UTDApi` per user (REST only, no WebSocket)."""
    project = engine.default_project
    async with AsyncExitStack() as stack:
        result: list[UTDApi] = []
        for user in users:
            api = await stack.enter_async_context(
                UTDApi(app_id=project.app_id, app_key=project.app_key, base_url=engine.base_url)
            )
            await api.mint_session(user)
            result.append(api)
        yield result


async def raw(
    api: UTDApi, method: str, path: str, body: Any = None, **kwargs: Any
) -> httpx.Response:
    """A bearer request made by hand (to see statuses and send bodies the SDK refuses)."""
    session = api.session
    assert session is not None
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        return await client.request(
            method,
            path,
            json=body,
            headers={"Authorization": f"Bearer {session.user_token}"},
            **kwargs,
        )


def roles(group: Group) -> dict[str, str]:
    """``{user_id: role}`` of a `Group`, in member order."""
    return {m.user_id: m.role for m in group.members}
