"""Base-URL and WebSocket-URL policy (protocol §1, §5): TLS unless loopback."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import _vocab as v
from ._validate import shown

_HTTP_SCHEMES = {"http": False, "https": True}
_WS_SCHEMES = {"ws": False, "wss": True}


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and the name ``localhost`` itself.

    Names under ``.localhost`` (``api.localhost``) are *not* loopback here: whether they
    resolve to loopback is up to the resolver (a hosts file or DNS may say otherwise), and
    checking it would be a lookup at validation time whose answer can change before the
    connect. Plain text to them needs ``allow_insecure=True``.
    """
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure: bool = False) -> str:
    """Validate a REST base URL and return it without a trailing slash.

    Raises:
        ValueError: naming ``base_url`` when it is empty, not http(s), has no host, or is
            plain ``http://`` to a non-loopback host without ``allow_insecure=True``.

    """
    if not isinstance(base_url, str) or not base_url.strip():  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError("base_url must be a non-empty http(s) URL")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in _HTTP_SCHEMES or not parts.hostname:
        raise ValueError(
            f"base_url must be an http:// or https:// URL with a host, got {shown(base_url)}"
        )
    if not _HTTP_SCHEMES[parts.scheme] and not allow_insecure and not is_loopback(parts.hostname):
        raise ValueError(
            f"base_url {shown(base_url)} is plain http:// to a non-loopback host; use https:// "
            "or pass allow_insecure=True"
        )
    return urlunsplit(parts._replace(path=parts.path.rstrip("/"), query="", fragment=""))


def ws_url_with_token(ws_url: str, token: str, *, allow_insecure: bool = False) -> str:
    """The URL to open: ``ws_url`` plus ``token=…`` unless it already carries a token.

    Raises:
        ValueError: when ``ws_url`` is not ws(s) or is plain ``ws://`` to a non-loopback
            host without ``allow_insecure=True`` (a mint must not downgrade TLS).

    """
    parts = urlsplit(ws_url)
    if parts.scheme not in _WS_SCHEMES or not parts.hostname:
        raise ValueError(
            f"ws_url from the session is not a ws:// or wss:// URL: {parts.scheme}://…"
        )
    if not _WS_SCHEMES[parts.scheme] and not allow_insecure and not is_loopback(parts.hostname):
        raise ValueError(
            "ws_url from the session is plain ws:// to a non-loopback host; refusing to "
            "downgrade TLS (pass allow_insecure=True to override)"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == v.WS_TOKEN_QUERY for key, _ in query):
        query.append((v.WS_TOKEN_QUERY, token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def redact_url(url: str) -> str:
    """The URL with its query string's values hidden (tokens ride in the query)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(key, "***") for key, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


class UpgradeTarget(NamedTuple):
    """Where a WebSocket URL points: what to dial and what the upgrade request says."""

    host: str
    port: int
    secure: bool
    host_header: str
    resource: str


def upgrade_target(ws_url: str) -> UpgradeTarget:
    """Split a ``ws://`` / ``wss://`` URL into dial address, Host header and resource.

    The Host header omits the port only when it is the scheme's default (RFC 7230 §5.4) and
    brackets an IPv6 literal.
    """
    parts = urlsplit(ws_url)
    host = parts.hostname or ""
    secure = parts.scheme == "wss"
    default_port = 443 if secure else 80
    port = parts.port or default_port
    named = f"[{host}]" if ":" in host else host
    host_header = named if port == default_port else f"{named}:{port}"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return UpgradeTarget(host, port, secure, host_header, resource)
