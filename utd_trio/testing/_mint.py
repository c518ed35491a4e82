"""``POST /api/v1/auth/session``: the session mint [protocol §2, §10].

Order of checks: injected failures (``Engine.fail_next_mints``) → header shape (both key and
secret: 422) → credentials (401) → body (422) → ban / mint policy (403) → rate limit (429).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from collections import deque
from http import HTTPStatus
from typing import Any, Final, cast

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ._errors import EngineError, JSONObject
from ._project import ProjectConfig, apply_overrides, plan_fields
from ._rest import error_response, json_response, read_body
from ._state import EngineState, UserProfile
from ._unicode import check_unicode

__all__ = ["MINT_PATH", "mint_endpoint", "validate_body"]

log = logging.getLogger("utd_trio.testing")

MINT_PATH: Final = "/api/v1/auth/session"
RATE_WINDOW: Final = 60.0
MAX_BODY_BYTES: Final = 64 * 1024

IDENTITY_RE: Final = re.compile(r"[A-Za-z0-9_.@-]{1,128}")
OPTIONAL_CAPS: Final = {
    "name": 100,
    "os": 50,
    "os_version": 20,
    "device_model": 100,
    "app_version": 20,
}
INVALID_CREDENTIALS: Final = "Invalid credentials"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def validate_body(raw: bytes) -> tuple[str, UserProfile]:
    """Parse and check a mint body; return ``(identity, profile)`` or raise 422."""
    try:
        body: Any = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body = None
    if not isinstance(body, dict):
        raise EngineError(422, "invalid", "Request body must be a JSON object")
    fields = cast(JSONObject, body)
    check_unicode(fields, "body")
    identity = fields.get("identity")
    if identity is None or identity == "":
        raise EngineError(422, "invalid", "identity is required")
    if not isinstance(identity, str) or not IDENTITY_RE.fullmatch(identity):
        raise EngineError(
            422, "invalid", "identity must be 1-128 characters of A-Z a-z 0-9 _ . @ -"
        )
    values: dict[str, str | None] = {}
    for name, cap in OPTIONAL_CAPS.items():
        value = fields.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > cap):
            raise EngineError(
                422, "invalid", f"{name} must be a string of at most {cap} characters"
            )
        values[name] = value
    return identity, UserProfile(**values)


def _check_credentials(state: EngineState, request: Request) -> tuple[ProjectConfig, bool]:
    """Return ``(project, used_app_key)`` or raise 401/422."""
    app_id = request.headers.get("x-app-id")
    key = request.headers.get("x-app-key")
    secret = request.headers.get("x-app-secret")
    if key is not None and secret is not None:
        raise EngineError(422, "invalid", "Send exactly one of X-App-Key or X-App-Secret")
    project = state.projects.get(app_id) if app_id else None
    if project is None or (key is None and secret is None):
        raise EngineError(401, None, INVALID_CREDENTIALS)
    expected = project.app_key if key is not None else project.app_secret
    given = key if key is not None else secret
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise EngineError(401, None, INVALID_CREDENTIALS)
    return project, key is not None


def _check_rate(state: EngineState, app_id: str, identity: str) -> None:
    limit = state.settings.mint_rate_limit
    if limit is None:
        return
    now = anyio.current_time()
    window = state.mint_windows.setdefault((app_id, identity), deque())
    while window and window[0] <= now - RATE_WINDOW:
        window.popleft()
    if len(window) >= limit:
        retry_after = max(1, math.ceil(window[0] + RATE_WINDOW - now))
        raise EngineError(429, None, "Too many requests", headers={"Retry-After": str(retry_after)})
    window.append(now)


def _injected_failure(state: EngineState) -> EngineError | None:
    if not state.mint_failures:
        return None
    failure = state.mint_failures.popleft()
    headers: dict[str, str] = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(max(0, math.ceil(failure.retry_after)))
    return EngineError(failure.status, failure.code, failure.message, headers=headers)


def default_failure_message(status: int) -> str:
    """The message an injected failure carries unless the test gives one."""
    if status == 429:
        return "Too many requests"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected failure"


def _ws_url(state: EngineState, request: Request) -> str:
    # A wildcard bind has no single address: answer with the address the client used.
    if state.ws_url and "://0.0.0.0:" not in state.ws_url and "://[::]:" not in state.ws_url:
        return state.ws_url
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request.headers.get('host', '127.0.0.1')}/ws"


async def mint_endpoint(state: EngineState, request: Request) -> Response:
    """Handle one mint request."""
    state.stats.mint_requests += 1
    injected = _injected_failure(state)
    if injected is not None:
        log.info("mint: injected failure %s", injected.status)
        return error_response(injected)
    try:
        project, used_key = _check_credentials(state, request)
        raw = await read_body(request, MAX_BODY_BYTES)
        identity, profile = validate_body(raw)
        if state.is_banned(project.app_id, identity):
            raise EngineError(403, "banned", "User is banned")
        if used_key and not project.allow_appkey_identity_mint:
            raise EngineError(
                403,
                "appkey_identity_mint_disabled",
                "App-key identity mint is disabled for this project; use a server-signed session",
            )
        _check_rate(state, project.app_id, identity)
    except EngineError as error:
        log.info("mint refused: %s %s", error.status, error.code or error.message)
        return error_response(error)

    ttl = state.settings.token_ttl
    token = state.tokens.issue(project.app_id, identity, ttl)
    state.profiles[(project.app_id, identity)] = profile
    state.mint_counts[(project.app_id, identity)] += 1
    state.stats.mints += 1
    body: JSONObject = {"user_token": token, "ws_url": _ws_url(state, request)}
    if math.isfinite(ttl):
        body["expires_in"] = _number(ttl)
    body.update(plan_fields(project))
    apply_overrides(project, body, session=True)
    log.info(
        "mint ok: app_id=%s identity=%s via=%s",
        project.app_id,
        identity,
        "app-key" if used_key else "secret",
    )
    return json_response(body)
