"""Helpers of the push-token and media tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from utd_trio import Signaling, UTDApi, open_signaling
from utd_trio.testing import Engine


@asynccontextmanager
async def session(engine: Engine, user: str = "alice") -> AsyncIterator[Signaling]:
    """An open `Signaling` session of ``user`` in the default project."""
    project = engine.default_project
    async with open_signaling(
        app_id=project.app_id, app_key=project.app_key, user_id=user, base_url=engine.base_url
    ) as sig:
        yield sig


async def raw(
    api: UTDApi, method: str, url: str, *, bearer: bool = True, **kwargs: Any
) -> httpx.Response:
    """A request made by hand: ``url`` is a path of the engine or an absolute URL."""
    session = api.session
    assert session is not None
    headers: dict[str, str] = dict(kwargs.pop("headers", {}))
    if bearer:
        headers["Authorization"] = f"Bearer {session.user_token}"
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        return await client.request(method, url, headers=headers, **kwargs)
