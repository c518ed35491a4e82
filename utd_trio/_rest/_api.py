"""`UTDApi`: the REST half of the SDK — session mint, and bearer calls that re-mint once on 401.

One `httpx.AsyncClient` carries every request (owned and closed here unless the caller passed
their own). TLS verification is always on. Every failure leaves as a `UTDStreamError`: engine
refusals are classified by the protocol core, transport failures become ``NETWORK``, a missed
deadline ``TIMEOUT``, and a 2xx reply that breaks the wire contract ``PROTOCOL``.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import anyio
import httpx

from .._errors import ErrorCode, UTDStreamError
from .._models import Session
from .._protocol import _vocab as v
from .._protocol._classify import transport_error
from .._protocol._parse import parse_session
from .._protocol._urls import check_base_url
from .._protocol._validate import (
    check_bool,
    check_identity,
    check_instance,
    check_mint_fields,
    check_seconds,
)
from .._transport._tls import default_ssl_context
from ._channels import ChannelBackend
from ._gate import request_gate
from ._verbs import RestVerbs
from ._wire import as_object, bearer_headers, check_header_value, checked, error_of, parse_with

__all__ = ["RefreshSession", "UTDApi"]

logger = logging.getLogger("utd_trio.api")

RefreshSession = Callable[[], Awaitable[Session]]
"""An async callable returning a fresh `Session` (e.g. from the app's own backend)."""


@dataclass(frozen=True, slots=True)
class _MintRequest:
    identity: str
    fields: Mapping[str, str]


class UTDApi(RestVerbs, ChannelBackend):
    """The REST client of UTD-Stream: session mint and the bearer-token endpoints.

    Use it as an async context manager (or call `aclose`) so its HTTP client is closed::

        async with UTDApi(app_id="app_x", app_key="key_x") as api:
            session = await api.mint_session("alice")   # also binds it
            groups = await api.list_groups()

    Minting needs exactly one credential: ``app_key`` (development mint, identity asserted by
    the client) or ``app_secret`` (server mint, for the customer's backend). With neither, the
    api serves bearer calls for a session given to `bind_session`.

    On a 401 to a bearer call the api refreshes the session once — through the ``refresh``
    callable given to `bind_session`, or by minting again when this api minted the bound
    session itself — and retries the request once. Concurrent 401s share one refresh.

    HTTP: one `httpx.AsyncClient`, made here (TLS verified, by ``ssl_context`` when given,
    else the system trust) and closed by `aclose`; or the caller's ``http_client``, used as
    is and never closed (``ssl_context`` then does not apply to REST). ``timeout`` bounds
    each request (connect, send and reply together); uploads get it per operation instead.

    Raises:
        ValueError: from the constructor, naming the bad argument.

    """

    def __init__(
        self,
        *,
        app_id: str,
        base_url: str = v.DEFAULT_BASE_URL,
        app_key: str | None = None,
        app_secret: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        ssl_context: ssl.SSLContext | None = None,
        allow_insecure: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self._app_id = check_header_value(app_id, "app_id", secret=False)
        self._allow_insecure = check_bool(allow_insecure, "allow_insecure")
        self._base_url = check_base_url(base_url, allow_insecure=allow_insecure)
        if app_key is not None and app_secret is not None:
            raise ValueError("pass app_key or app_secret, not both")
        self._credential: tuple[str, str] | None = None
        if app_key is not None:
            self._credential = (v.HEADER_APP_KEY, check_header_value(app_key, "app_key"))
        elif app_secret is not None:
            self._credential = (v.HEADER_APP_SECRET, check_header_value(app_secret, "app_secret"))
        self._timeout = float(check_seconds(timeout, "timeout") or 0.0)
        self._httpx_timeout = httpx.Timeout(self._timeout)
        check_instance(ssl_context, "ssl_context", ssl.SSLContext, "an ssl.SSLContext")
        check_instance(http_client, "http_client", httpx.AsyncClient, "an httpx.AsyncClient")
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            verify=ssl_context if ssl_context is not None else default_ssl_context(),
            timeout=self._httpx_timeout,
            follow_redirects=False,
        )
        self._closed = False
        self._session: Session | None = None
        self._refresh: RefreshSession | None = None
        self._remint: _MintRequest | None = None
        self._last_mint: tuple[Session, _MintRequest] | None = None
        self._refresh_lock: anyio.Lock | None = None  # made by the first refresh
        self._failed_refreshes = 0

    # --- lifecycle and state -------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this api made it (a caller's client is left open).

        Idempotent. Later calls raise `UTDStreamError` with `ErrorCode.CLOSED`.
        """
        self._closed = True
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        key = "'***'" if self._credential and self._credential[0] == v.HEADER_APP_KEY else None
        secret = "'***'" if self._credential and self._credential[0] != v.HEADER_APP_KEY else None
        return (
            f"UTDApi(base_url={self._base_url!r}, app_id={self._app_id!r}, app_key={key}, "
            f"app_secret={secret}, session={'bound' if self._session else None}, "
            f"closed={self._closed})"
        )

    @property
    def base_url(self) -> str:
        """The engine's base URL, without a trailing slash."""
        return self._base_url

    @property
    def app_id(self) -> str:
        """The project's public app id."""
        return self._app_id

    @property
    def session(self) -> Session | None:
        """The session bearer calls use (None until minted or bound)."""
        return self._session

    # --- session ---------------------------------------------------------------------------

    async def mint_session(
        self,
        identity: str,
        *,
        name: str | None = None,
        os: str | None = None,
        os_version: str | None = None,
        device_model: str | None = None,
        app_version: str | None = None,
        bind: bool = True,
    ) -> Session:
        """Mint a session for ``identity`` (``POST /api/v1/auth/session``).

        With ``bind=True`` (the default) the new session is bound for bearer calls, and a
        401 re-mints with the same identity and fields. A backend minting sessions to hand to
        other users passes ``bind=False``.

        Raises:
            ValueError: naming the field, before any network call: no credential, a bad
                identity or a device field over its cap.
            UTDStreamError: ``UNAUTHORIZED`` (bad app id / key / secret), ``BANNED``,
                ``IDENTITY_MINT_DISABLED``, ``INVALID``, ``RATE_LIMITED`` (with
                ``retry_after``), ``NETWORK``, ``TIMEOUT``, ``PROTOCOL``, ``CLOSED``.

        """
        if self._credential is None:
            raise ValueError("mint_session needs app_key or app_secret; this api has neither")
        request = _MintRequest(
            check_identity(identity, "identity"),
            check_mint_fields(
                {
                    "name": name,
                    "os": os,
                    "os_version": os_version,
                    "device_model": device_model,
                    "app_version": app_version,
                }
            ),
        )
        session = await self._mint(request)
        if bind:
            self._last_mint = (session, request)
            self.bind_session(session)
        return session

    def bind_session(self, session: Session, *, refresh: RefreshSession | None = None) -> None:
        """Use ``session`` for bearer calls from now on.

        ``refresh`` is awaited (once per 401, shared by concurrent requests) for a new
        session. Without it, a session this api minted itself is refreshed by minting again;
        any other session is not refreshed and a 401 raises ``UNAUTHORIZED``.
        """
        if not isinstance(session, Session):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError("session must be a Session")
        self._session = session
        self._refresh = refresh
        minted = self._last_mint
        self._remint = minted[1] if refresh is None and minted and minted[0] is session else None

    async def _mint(self, request: _MintRequest) -> Session:
        assert self._credential is not None
        header, value = self._credential
        headers = {v.HEADER_APP_ID: self._app_id, header: value}
        body = {"identity": request.identity, **request.fields}
        response = await self._send("POST", self._url(v.PATH_MINT), headers=headers, body=body)
        return parse_with(parse_session, as_object(checked(response), "mint"), "mint")

    async def _refresh_after_401(
        self, used: Session, failures: int, error: UTDStreamError
    ) -> Session:
        """A session to retry with, refreshing at most once for all concurrent 401s.

        ``failures`` is the count of failed refreshes when the request was sent: a request
        that was in flight while a refresh failed raises its own 401 instead of trying again.
        """
        if self._refresh_lock is None:
            self._refresh_lock = anyio.Lock()
        async with self._refresh_lock:
            current = self._session
            if current is not None and current is not used:
                return current  # someone else refreshed (or re-bound) meanwhile
            if failures != self._failed_refreshes:
                raise error
            if self._refresh is None and self._remint is None:
                raise error
            logger.debug("bearer token refused; refreshing the session")
            refresh, remint = self._refresh, self._remint
            try:
                if refresh is not None:
                    fresh = await refresh()
                    if not isinstance(fresh, Session):  # pyright: ignore[reportUnnecessaryIsInstance]
                        raise TypeError("the refresh callable must return a Session")
                else:
                    assert remint is not None
                    fresh = await self._mint(remint)
            except Exception:
                self._failed_refreshes += 1  # (a cancelled refresh is not a failure)
                raise
            # Keep the refresh policy even if the callable re-bound (e.g. a nested mint).
            self._session, self._refresh, self._remint = fresh, refresh, remint
            if refresh is None and remint is not None:
                self._last_mint = (fresh, remint)
            return fresh

    # --- transport -------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self._base_url + path

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
        """One HTTP exchange; every failure becomes a `UTDStreamError`.

        It first waits its turn at the client's gate (`request_gate`: at most 64 exchanges in
        flight per httpx client); its timeout counts from then.
        """
        if self._closed or self._client.is_closed:
            raise UTDStreamError(ErrorCode.CLOSED, f"{method} {urlsplit(url).path}: closed")
        path = urlsplit(url).path
        where = f"{method} {path}"
        scope: contextlib.AbstractContextManager[object] = (
            anyio.fail_after(self._timeout) if deadline else contextlib.nullcontext()
        )
        try:
            async with request_gate(self._client):
                with scope:  # entered after the wait: the timeout is the exchange's
                    response = await self._client.request(
                        method,
                        url,
                        headers=dict(headers),
                        json=body,
                        params=params,
                        content=content,
                        timeout=self._httpx_timeout,
                    )
        except (TimeoutError, httpx.TimeoutException) as exc:
            logger.debug("%s timed out", where)
            raise UTDStreamError(
                ErrorCode.TIMEOUT, f"{where}: no reply within {self._timeout:g} s"
            ) from exc
        except httpx.TransportError as exc:
            logger.debug("%s failed: %s", where, type(exc).__name__)
            detail = f"{type(exc).__name__}: {_root_cause(exc)}"
            raise transport_error(
                exc, f"{method} {_plain_url(url)}", detail, host=urlsplit(url).hostname
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise UTDStreamError(
                ErrorCode.PROTOCOL, f"{where}: {type(exc).__name__}: {exc}"
            ) from exc
        logger.debug("%s -> %d", where, response.status_code)
        return response

    async def _bearer(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        """A bearer call: one refresh + one retry on 401. Returns the decoded 2xx body."""
        session = self._session
        if session is None:
            raise RuntimeError("no session: call mint_session() or bind_session() first")
        failures = self._failed_refreshes
        url = self._url(path)
        response = await self._send(
            method, url, headers=bearer_headers(session), body=body, params=params
        )
        if response.status_code == 401:
            fresh = await self._refresh_after_401(session, failures, error_of(response))
            response = await self._send(
                method, url, headers=bearer_headers(fresh), body=body, params=params
            )
        return checked(response)


def _plain_url(url: str) -> str:
    """``url`` without user info, query or fragment (a presigned query holds a signature)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _root_cause(exc: BaseException) -> str:
    """The most specific message in an exception chain.

    httpx's ``ConnectError`` for a refused certificate says nothing itself; the reason
    (``CERTIFICATE_VERIFY_FAILED``…) sits a few causes down.
    """
    text = str(exc)
    seen: set[int] = set()
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        text = str(cause) or text
        cause = cause.__cause__ or cause.__context__
    return text
