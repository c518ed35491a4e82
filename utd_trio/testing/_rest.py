"""REST plumbing: JSON error responses, bearer authentication, capability gate, route wrapper."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import EngineError, JSONObject
from ._project import ProjectConfig
from ._registry import RouteSpec
from ._state import EngineState
from ._unicode import check_unicode

__all__ = [
    "AuthUser",
    "DrainBody",
    "RestContext",
    "authenticate",
    "bearer_token",
    "error_response",
    "http_exception_handler",
    "json_response",
    "make_route",
    "read_body",
    "read_json_object",
]

log = logging.getLogger("utd_trio.testing")

UNAUTHORIZED_MESSAGE = "Invalid or expired token"
MAX_JSON_BODY = 1024 * 1024
DRAIN_LIMIT = 32 * 1024 * 1024
"""Largest unread body :class:`DrainBody` reads (and discards) so the answer reaches the client."""
DRAIN_TIMEOUT = 10.0
BANNED_MESSAGE = "User is banned"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A compact JSON response."""
    return JSONResponse(data, status_code=status, headers=headers)


def error_response(error: EngineError) -> JSONResponse:
    """The REST form of an :class:`EngineError`: ``{"message", "code"?}`` plus its headers."""
    return json_response(error.body(), error.status, error.headers or None)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405/413 as ``{"message"}`` JSON like every other engine error."""
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for HTTPException
        raise exc
    headers = dict(exc.headers) if exc.headers else None
    return json_response({"message": exc.detail}, exc.status_code, headers)


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if well formed."""
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


@dataclass(frozen=True)
class AuthUser:
    """The authenticated caller of a REST route."""

    app_id: str
    user_id: str
    project: ProjectConfig


def authenticate(state: EngineState, conn: HTTPConnection) -> AuthUser:
    """Check the bearer token (401) and the ban list (403 ``banned``)."""
    record = state.tokens.lookup(bearer_token(conn))
    if record is None or record.app_id not in state.projects:
        raise EngineError(401, "unauthorized", UNAUTHORIZED_MESSAGE)
    if state.is_banned(record.app_id, record.user_id):
        raise EngineError(403, "banned", BANNED_MESSAGE)
    return AuthUser(record.app_id, record.user_id, state.projects[record.app_id])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes with 413 (without reading it all).

    What is left unread is drained by :class:`DrainBody` once the response is out.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise EngineError(413, "too_large", f"Request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise EngineError(413, "too_large", f"Request body over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # The client closed before its body ended: nobody reads the answer, and without this
        # starlette logs a traceback for every such connection.
        raise EngineError(400, "incomplete_body", "The client went away mid-body") from None
    return b"".join(chunks)


class DrainBody:
    """ASGI middleware: when the app answers early, read and discard the unread request body.

    A server that answers early (401, 404, 405, 413...) and closes while the client is still
    sending makes the kernel reset the connection, and the client sees "server disconnected"
    instead of the answer. Hypercorn closes the connection as soon as the response ends, so
    the drain happens *before* the response's last (empty) body message: the answer's bytes
    are out first, for clients that read while they send. Bounded by :data:`DRAIN_LIMIT` bytes
    and :data:`DRAIN_TIMEOUT`. Such an answer also carries ``Connection: close``: the connection
    is not reused after it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        done = False

        async def tracked() -> Message:
            nonlocal done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        async def drain() -> None:
            budget = DRAIN_LIMIT
            with anyio.move_on_after(DRAIN_TIMEOUT):
                while not done and budget > 0:
                    budget -= len((await tracked()).get("body", b""))

        async def closing(message: Message) -> None:
            # Answered before the body ended: the server will not reuse this connection, so
            # say so, or the client may send its next request into a closing socket.
            if message["type"] == "http.response.start" and not done:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if last and not done:
                await send({**message, "more_body": True})
                await drain()
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, tracked, closing)


async def read_json_object(request: Request, limit: int = MAX_JSON_BODY) -> JSONObject:
    """The request body (at most ``limit`` bytes, else 413) as a JSON object, else 422.

    A body holding a lone surrogate anywhere is refused with 422 too (see ``_unicode.py``).
    """
    raw = await read_body(request, limit)
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body = None
    if not isinstance(body, dict):
        raise EngineError(422, "invalid", "Request body must be a JSON object")
    fields = cast(JSONObject, body)
    check_unicode(fields, "body")
    return fields


@dataclass(frozen=True)
class RestContext:
    """What a REST handler gets: the engine state, the request and the authenticated user."""

    state: EngineState
    request: Request
    auth: AuthUser | None

    @property
    def user(self) -> AuthUser:
        """The authenticated user (routes registered with ``auth=True`` always have one)."""
        if self.auth is None:
            raise EngineError(401, "unauthorized", UNAUTHORIZED_MESSAGE)
        return self.auth

    async def json(self) -> JSONObject:
        """The body as a JSON object, else 422."""
        return await read_json_object(self.request)


def make_route(state: EngineState, spec: RouteSpec) -> Route:
    """Wrap a registered handler: auth → gate → handler, ``EngineError`` → JSON error."""

    async def endpoint(request: Request) -> Response:
        try:
            auth = authenticate(state, request) if spec.auth else None
            if auth is not None:
                state.check_gate(auth.app_id, spec.gate)
            result = await spec.handler(RestContext(state, request, auth))
        except EngineError as error:
            return error_response(error)
        if isinstance(result, Response):
            return result
        return json_response(result)

    return Route(spec.path, endpoint, methods=list(spec.methods))
