"""The HTTP exchange every REST verb group of `UTDApi` stands on (declared once, made there)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

__all__ = ["RestExchange"]


class RestExchange(ABC):
    """What the verb groups (`RestVerbs`, `ChannelBackend`) need of `UTDApi`."""

    _allow_insecure: bool
    _base_url: str
    _app_id: str
    _credential: tuple[str, str] | None

    @abstractmethod
    async def _bearer(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        """One bearer-authenticated call returning the decoded JSON (`UTDApi` implements it)."""

    @abstractmethod
    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
        content: bytes | AsyncIterator[bytes] | None = None,
        deadline: bool = True,
    ) -> httpx.Response:
        """One HTTP exchange; every failure a `UTDStreamError` (`UTDApi` implements it)."""

    @abstractmethod
    def _url(self, path: str) -> str:
        """The absolute URL of a REST path."""
