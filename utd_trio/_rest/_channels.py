"""Channel calls of `UTDApi` (contract §11): grants, and broadcast from a backend.

- `channel_grant`: a development grant from the engine (``POST /api/v1/channels/auth``,
  bearer token), used by `Signaling` when no ``channel_auth`` is given.
- `authorize_channel`: the grant a backend signs itself with the server secret — no I/O,
  byte-compatible with Pusher's channel-auth contract, so an app's auth endpoint is a few
  lines (see docs/channels.md).
- `broadcast`, `channels`, `channel_users`: the backend REST calls (``X-App-Secret``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .._models import JSONObject
from .._protocol import _vocab as v
from .._protocol._channels import (
    channel_kind,
    check_channel_name,
    check_user_info,
    compact_size,
    sign_grant,
)
from .._protocol._parse import parse_object, parse_str
from .._protocol._validate import check_identity, check_non_empty
from ._exchange import RestExchange
from ._wire import as_object, checked, data_list, segment

__all__ = ["ChannelBackend"]


class ChannelBackend(RestExchange):
    """Mixin of `UTDApi`: channel grants and the backend's broadcast calls."""

    # --- grants --------------------------------------------------------------------------

    async def channel_grant(
        self, socket_id: str, channel_name: str, user_info: Mapping[str, Any] | None = None
    ) -> JSONObject:
        """A development grant for the bound session's user (the engine signs it).

        Only projects that allow app-key mints serve it; a hardened one answers
        ``IDENTITY_MINT_DISABLED``.

        Raises:
            ValueError: an empty ``socket_id``, a bad ``channel_name`` or ``user_info``.
            UTDStreamError: FEATURE_DISABLED, IDENTITY_MINT_DISABLED, FORBIDDEN, INVALID, ….
        """
        check_non_empty(socket_id, "socket_id")
        body: dict[str, Any] = {
            "socket_id": socket_id,
            "channel_name": check_channel_name(channel_name, "channel_name"),
        }
        info = check_user_info(user_info)
        if info is not None:
            body["user_info"] = info
        reply = await self._bearer("POST", v.PATH_CHANNEL_AUTH, body=body)
        return as_object(reply, "channel grant")

    async def request_grant(
        self,
        url: str,
        socket_id: str,
        channel_name: str,
        headers: Mapping[str, str] | None = None,
    ) -> JSONObject:
        """Ask a Pusher-style auth endpoint at ``url`` for a grant (a form POST).

        The body is ``socket_id=…&channel_name=…``; ``headers`` go along (e.g. the app's
        own session cookie or bearer token). The answer is the grant JSON.

        Raises:
            UTDStreamError: the endpoint refused (e.g. FORBIDDEN) or could not be reached.
        """
        form = urlencode({"socket_id": socket_id, "channel_name": channel_name}).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        response = await self._send("POST", url, headers=sent, content=form)
        return as_object(checked(response), "channel grant")

    def authorize_channel(
        self,
        socket_id: str,
        channel_name: str,
        user_id: str | None = None,
        user_info: Mapping[str, Any] | None = None,
        *,
        app_key: str,
    ) -> JSONObject:
        """Sign a grant for ``socket_id`` on a private or presence channel (no I/O).

        Use it in your app's auth endpoint after you have authenticated the user; the
        result is the JSON body to answer with. A presence grant needs ``user_id`` (the
        user the socket belongs to) and may carry ``user_info`` (≤ 1 KiB as JSON).
        ``app_key`` is the project's app key (the engine checks it). Needs an api made
        with ``app_secret``.

        Raises:
            ValueError: no server secret, a bad name, a public channel, a presence
                channel without ``user_id``, ``user_id`` on a private channel.
        """
        secret = self._secret()
        check_non_empty(socket_id, "socket_id")
        check_non_empty(app_key, "app_key")
        name = check_channel_name(channel_name, "channel_name")
        kind = channel_kind(name)
        if kind == "public":
            raise ValueError(f"channel_name: public channels need no grant, got {name!r}")
        if kind == "private":
            if user_id is not None or user_info is not None:
                raise ValueError("user_id / user_info are for presence- channels only")
            return sign_grant(app_key, secret, socket_id, name)
        if user_id is None:
            raise ValueError("user_id is required for a presence- channel grant")
        member: dict[str, Any] = {"user_id": check_identity(user_id, "user_id")}
        info = check_user_info(user_info)
        if info is not None:
            member["user_info"] = info
        data = json.dumps(member, separators=(",", ":"), ensure_ascii=False)
        return sign_grant(app_key, secret, socket_id, name, data)

    # --- broadcast (server secret) -----------------------------------------------------------

    async def broadcast(
        self,
        channels: str | Sequence[str],
        name: str,
        data: Any,
        socket_id: str | None = None,
    ) -> None:
        """Send event ``name`` with ``data`` (any JSON value, ≤ 10 KiB) to 1–100 channels.

        Subscribers get `ChannelEvent` without ``user_id``. ``socket_id`` leaves that one
        socket out (a user's own action echoed back). Needs an api made with ``app_secret``.

        Raises:
            ValueError: no server secret, bad channel names, a ``client-`` or empty name,
                ``data`` too large.
            TypeError: ``data`` not JSON-serializable.
            UTDStreamError: UNAUTHORIZED (wrong secret), FEATURE_DISABLED, INVALID, ….
        """
        names = [channels] if isinstance(channels, str) else list(channels)
        if not 1 <= len(names) <= v.MAX_BROADCAST_CHANNELS:
            raise ValueError(f"channels must hold 1–{v.MAX_BROADCAST_CHANNELS} names")
        for channel in names:
            check_channel_name(channel, "channels")
        if not isinstance(name, str) or not name or len(name) > v.CLIENT_EVENT_NAME_MAX:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"name must be 1–{v.CLIENT_EVENT_NAME_MAX} characters")
        if name.startswith(v.CLIENT_EVENT_PREFIX):
            raise ValueError(f"name must not start with {v.CLIENT_EVENT_PREFIX!r}")
        size = compact_size(data, "data")
        if size > v.CHANNEL_EVENT_MAX_BYTES:
            raise ValueError(f"data is {size} bytes as JSON; the limit is 10240")
        body: dict[str, Any] = {"name": name, "channels": names, "data": data}
        if socket_id is not None:
            body["socket_id"] = check_non_empty(socket_id, "socket_id")
        await self._secret_call("POST", v.PATH_CHANNEL_EVENTS, body=body)

    async def channels(self, prefix: str | None = None) -> dict[str, dict[str, int]]:
        """The occupied channels: name → ``{"subscription_count", "user_count"?}``."""
        params = None if prefix is None else {"prefix": check_non_empty(prefix, "prefix")}
        reply = await self._secret_call("GET", v.PATH_CHANNELS, params=params)
        out: dict[str, dict[str, int]] = {}
        for item in data_list(reply, "channels"):
            obj = parse_object(item) or {}
            channel = parse_str(obj.get("channel"))
            if channel:
                out[channel] = {
                    k: val
                    for k, val in obj.items()
                    if k != "channel" and isinstance(val, int) and not isinstance(val, bool)
                }
        return out

    async def channel_users(self, name: str) -> tuple[str, ...]:
        """The user ids on presence channel ``name`` (empty when nobody is there)."""
        path = v.PATH_CHANNEL_USERS.format(name=segment(check_channel_name(name)))
        reply = await self._secret_call("GET", path)
        users = (parse_object(item) or {} for item in data_list(reply, "channel users"))
        return tuple(user_id for obj in users if (user_id := parse_str(obj.get("user_id"))))

    # --- internals -----------------------------------------------------------------------

    def _secret(self) -> str:
        if self._credential is None or self._credential[0] != v.HEADER_APP_SECRET:
            raise ValueError("this call needs a UTDApi made with app_secret (the server secret)")
        return self._credential[1]

    async def _secret_call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        headers = {v.HEADER_APP_ID: self._app_id, v.HEADER_APP_SECRET: self._secret()}
        response = await self._send(
            method, self._url(path), headers=headers, body=body, params=params
        )
        return checked(response)
