"""Where a session gets its channel grants (``open_signaling(channel_auth=...)``, §11).

- ``None``: the engine's development grant endpoint (``UTDApi.channel_grant``; only projects
  that allow app-key mints serve it).
- a URL string: the app's own Pusher-style auth endpoint, sent ``socket_id`` and
  ``channel_name`` as a form POST with ``channel_auth_headers``; it answers the grant JSON.
- an async callable ``(socket_id, channel_name) -> Mapping``: anything else (a grant from
  your own backend over any transport, or `UTDApi.authorize_channel` in the same process).

A grant is fetched for every subscribe, a fresh one after every reconnect (the ``socket_id``
changes). Grants are only asked for private and presence channels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from .._protocol._channels import parse_grant
from .._protocol._urls import is_loopback
from .._rest._api import UTDApi

__all__ = ["ChannelAuth", "GrantSource"]

ChannelAuth: TypeAlias = "str | Callable[[str, str], Awaitable[Mapping[str, Any]]] | None"
"""``open_signaling(channel_auth=...)``: None, an auth endpoint URL, or an async callable."""


class GrantSource:
    """Fetches grants the way ``channel_auth`` says."""

    def __init__(
        self,
        channel_auth: ChannelAuth,
        headers: Mapping[str, str] | None,
        *,
        allow_insecure: bool,
    ) -> None:
        if not (channel_auth is None or isinstance(channel_auth, str) or callable(channel_auth)):
            raise TypeError(
                "channel_auth must be None, a URL string or an async callable, "
                f"got {type(channel_auth).__name__}"
            )
        if isinstance(channel_auth, str):
            _check_url(channel_auth, allow_insecure)
        if headers is not None:
            if not isinstance(channel_auth, str):
                raise ValueError("channel_auth_headers go with a channel_auth URL")
            if not isinstance(headers, Mapping) or not all(  # pyright: ignore[reportUnnecessaryIsInstance]
                isinstance(k, str) and isinstance(val, str)  # pyright: ignore[reportUnnecessaryIsInstance]
                for k, val in headers.items()
            ):
                raise TypeError("channel_auth_headers must map str to str")
        self._auth = channel_auth
        self._headers = dict(headers or {})

    async def grant(
        self, api: UTDApi, socket_id: str, channel: str, user_info: dict[str, Any] | None
    ) -> tuple[str, str | None]:
        """``(auth, channel_data)`` for ``socket_id`` on ``channel``."""
        if self._auth is None:
            reply: object = await api.channel_grant(socket_id, channel, user_info)
            return parse_grant(reply, "the engine's grant endpoint")
        if isinstance(self._auth, str):
            reply = await api.request_grant(self._auth, socket_id, channel, self._headers)
            return parse_grant(reply, "the channel_auth endpoint")
        return parse_grant(await self._auth(socket_id, channel), "channel_auth")


def _check_url(url: str, allow_insecure: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"channel_auth must be an http(s) URL, got {url[:80]!r}")
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise ValueError(
            "channel_auth: plain http to a host that is not loopback; use https "
            "(or allow_insecure=True for a trusted network)"
        )
