"""The engine control plane over HTTP: ``/_control/...`` [contract §12].

Off unless asked for (``open_engine(control_http=True)``, ``utd-trio serve --control``). Every
route only parses and checks its input, then calls the same :class:`EngineControl` method a
Python test would call: there is one implementation of each fault, not two.

Answers: 200 with a JSON object; 404 for an unknown call or an unknown ``app_id``; 422 for a
bad body (unknown keys included, so a typo never widens a filter to "everyone"); 413 for a body
over 64 KiB. A request whose peer is not a loopback address gets 403 ``forbidden``, whatever
address the engine listens on. The body's content type is not checked (``curl -d`` sends
``application/x-www-form-urlencoded``); an empty body is ``{}``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypeAlias, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._control import EVERY, KEEP, EngineControl, Every, Keep
from ._errors import EngineError, JSONObject
from ._project import capability_snapshot
from ._rest import error_response, json_response, read_body
from ._unicode import check_unicode

__all__ = ["CONTROL_PREFIX", "control_routes", "is_loopback"]

log = logging.getLogger("utd_trio.testing")

CONTROL_PREFIX: Final = "/_control"
MAX_CONTROL_BODY: Final = 64 * 1024

Call: TypeAlias = Callable[[EngineControl, Request], Awaitable[JSONObject]]


def _bad(message: str) -> EngineError:
    return EngineError(422, "invalid", message)


def is_loopback(host: str | None) -> bool:
    """Whether a peer address is loopback (``127.0.0.0/8``, ``::1``, IPv4-mapped too)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class Fields:
    """A control body (or query) checked field by field; unknown keys are refused."""

    def __init__(self, raw: Mapping[str, Any], allowed: frozenset[str]) -> None:
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise _bad(
                f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        self._raw = raw

    def __contains__(self, name: str) -> bool:
        return name in self._raw

    def is_null(self, name: str) -> bool:
        """Whether ``name`` is absent or ``null``."""
        return self._raw.get(name) is None

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A non-empty string field (``None`` if absent and optional)."""
        value = self._raw.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise _bad(f"{name} must be a non-empty string")
        return value

    def app_filter(self) -> str | Every:
        """``app_id`` as a filter: absent = every project."""
        return self.text("app_id") or EVERY

    def user_filter(self) -> str | Every:
        """``user_id`` as a filter: absent = every user."""
        return self.text("user_id") or EVERY

    def number(self, name: str, *, minimum: float = 0.0, positive: bool = False) -> float:
        """A required finite number ``>= minimum`` (``> 0`` with ``positive``)."""
        value = self._raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f"{name} must be a number")
        if not math.isfinite(value) or value < minimum or (positive and value <= 0):
            raise _bad(f"{name} must be a finite number {'> 0' if positive else f'>= {minimum:g}'}")
        return float(value)

    def integer(self, name: str, low: int, high: int) -> int:
        """A required integer in ``[low, high]``."""
        value = self._raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _bad(f"{name} must be an integer from {low} to {high}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        """An optional boolean."""
        value = self._raw.get(name, default)
        if not isinstance(value, bool):
            raise _bad(f"{name} must be true or false")
        return value

    def plan_flag(self, name: str) -> bool | Keep | None:
        """A plan flag: absent = keep, ``true``/``false``, ``"absent"`` or ``null`` = omitted."""
        if name not in self._raw:
            return KEEP
        value = self._raw[name]
        if value is None or value == "absent":
            return None
        if not isinstance(value, bool):
            raise _bad(f'{name} must be true, false or "absent"')
        return value

    def limits(self) -> dict[str, int | None] | Keep | None:
        """``limits``: absent = keep, ``null`` = omitted, else an object of integers or nulls."""
        if "limits" not in self._raw:
            return KEEP
        value = self._raw["limits"]
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _bad("limits must be an object or null")
        limits: dict[str, int | None] = {}
        for key, item in cast(dict[str, object], value).items():
            if item is not None and (
                isinstance(item, bool) or not isinstance(item, int) or item < 0
            ):
                raise _bad(f"limits.{key} must be a non-negative integer or null")
            limits[key] = item
        return limits


async def _body(request: Request, allowed: frozenset[str]) -> Fields:
    raw = await read_body(request, MAX_CONTROL_BODY)
    if not raw.strip():
        return Fields({}, allowed)
    try:
        body: object = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad("body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    fields = cast(dict[str, Any], body)
    check_unicode(fields, "body")  # a lone surrogate could not even be echoed back: 422
    return Fields(fields, allowed)


def _query(request: Request, allowed: frozenset[str]) -> Fields:
    params = {key: value for key, value in request.query_params.items() if value != ""}
    return Fields(params, allowed)


# ---- the calls (table of contract §12) ------------------------------------------------------


async def _drop(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(request, frozenset({"app_id", "user_id", "code", "reason"}))
    code: int | None = None
    if not body.is_null("code"):
        code = body.integer("code", 1000, 4999)
        if code in (1004, 1005, 1006, 1015) or 1016 <= code < 3000:
            raise _bad(f"code {code} cannot be sent in a close frame")
    reason = body.text("reason") or ""
    if len(reason.encode("utf-8")) > 123:
        raise _bad("reason must be at most 123 bytes of UTF-8")
    count = await control.drop_matching(
        body.app_filter(), body.user_filter(), code=code, reason=reason
    )
    return {"sockets": count}


async def _stall(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(request, frozenset({"app_id", "user_id", "seconds"}))
    seconds = body.number("seconds", positive=True)
    return {"sockets": control.stall_for(seconds, body.app_filter(), body.user_filter())}


def _plan(control: EngineControl, app_id: str) -> JSONObject:
    project = control.project(app_id)
    return {
        "app_id": project.app_id,
        **capability_snapshot(project),
        "allow_appkey_identity_mint": project.allow_appkey_identity_mint,
    }


async def _get_capabilities(control: EngineControl, request: Request) -> JSONObject:
    query = _query(request, frozenset({"app_id"}))
    app_id = query.text("app_id", required=True)
    assert app_id is not None
    return _plan(control, app_id)


async def _set_capabilities(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(
        request,
        frozenset(
            {
                "app_id",
                "signaling_enabled",
                "messaging_enabled",
                "limits",
                "allow_appkey_identity_mint",
            }
        ),
    )
    app_id = body.text("app_id", required=True)
    assert app_id is not None
    mint_policy: bool | Keep = KEEP
    if "allow_appkey_identity_mint" in body:
        mint_policy = body.flag("allow_appkey_identity_mint", True)
    told = await control.set_plan(
        app_id,
        signaling_enabled=body.plan_flag("signaling_enabled"),
        chat_enabled=body.plan_flag("messaging_enabled"),
        limits=body.limits(),
        allow_appkey_identity_mint=mint_policy,
    )
    return {**_plan(control, app_id), "sockets_told": told}


async def _ban(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(request, frozenset({"app_id", "identity", "banned"}))
    app_id = body.text("app_id", required=True)
    identity = body.text("identity", required=True)
    assert app_id is not None
    assert identity is not None
    banned = body.flag("banned", True)
    closed = 0
    if banned:
        closed = await control.ban(identity, app_id)
    else:
        control.unban(identity, app_id)
    return {"app_id": app_id, "identity": identity, "banned": banned, "sockets_closed": closed}


async def _fail_mints(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(request, frozenset({"count", "status", "retry_after", "code", "message"}))
    count = body.integer("count", 0, 10_000)
    status = body.integer("status", 400, 599)
    retry_after = body.number("retry_after") if "retry_after" in body else None
    control.fail_next_mints(
        count, status, retry_after=retry_after, message=body.text("message"), code=body.text("code")
    )
    return {"count": count, "status": status}


async def _expire_tokens(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(request, frozenset({"app_id", "user_id", "close"}))
    expired, closed = await control.expire_tokens(
        body.app_filter(), body.user_filter(), close=body.flag("close", False)
    )
    return {"tokens": expired, "sockets_closed": closed}


def _settings(control: EngineControl) -> JSONObject:
    settings = control.settings
    return {
        "heartbeat_interval": settings.heartbeat_interval,
        "ring_timeout": settings.ring_timeout,
        "token_ttl": settings.token_ttl,
        "mint_rate_limit": settings.mint_rate_limit,
    }


async def _get_config(control: EngineControl, request: Request) -> JSONObject:
    return _settings(control)


async def _set_config(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(
        request, frozenset({"heartbeat_interval", "ring_timeout", "token_ttl", "mint_rate_limit"})
    )
    timers: dict[str, float | Keep] = {
        name: body.number(name, positive=True) if name in body else KEEP
        for name in ("heartbeat_interval", "ring_timeout", "token_ttl")
    }
    rate: int | Keep | None = KEEP
    if "mint_rate_limit" in body:
        rate = (
            None
            if body.is_null("mint_rate_limit")
            else body.integer("mint_rate_limit", 0, 1_000_000)
        )
    control.configure(
        heartbeat_interval=timers["heartbeat_interval"],
        ring_timeout=timers["ring_timeout"],
        token_ttl=timers["token_ttl"],
        mint_rate_limit=rate,
    )
    return _settings(control)


async def _age_messages(control: EngineControl, request: Request) -> JSONObject:
    body = await _body(request, frozenset({"app_id", "conversation_id", "days"}))
    days = body.number("days")
    moved = control.age_messages(days, body.app_filter(), body.text("conversation_id"))
    return {"messages": moved}


async def _sockets(control: EngineControl, request: Request) -> JSONObject:
    query = _query(request, frozenset({"app_id", "user_id"}))
    sessions = control.sockets_matching(query.app_filter(), query.user_filter())
    return {
        "data": [
            {
                "socket_id": session.socket_id,
                "app_id": session.app_id,
                "user_id": session.user_id,
                "channels": sorted(session.extras.get("channels", ())),
                "stalled": session.stalled,
            }
            for session in sessions
        ]
    }


async def _stats(control: EngineControl, request: Request) -> JSONObject:
    return dict(control.counters())


CALLS: Final[tuple[tuple[str, str, Call], ...]] = (
    ("POST", "drop", _drop),
    ("POST", "stall", _stall),
    ("GET", "capabilities", _get_capabilities),
    ("POST", "capabilities", _set_capabilities),
    ("POST", "ban", _ban),
    ("POST", "fail_mints", _fail_mints),
    ("POST", "expire_tokens", _expire_tokens),
    ("GET", "config", _get_config),
    ("POST", "config", _set_config),
    ("POST", "age_messages", _age_messages),
    ("GET", "sockets", _sockets),
    ("GET", "stats", _stats),
)
"""Every call of the §12 table: ``(method, name, handler)``."""


def control_routes(control: EngineControl) -> list[Route]:
    """The ``/_control/...`` routes of ``control``, ending with a 404 for any other call."""
    by_call: dict[tuple[str, str], Call] = {(method, name): fn for method, name, fn in CALLS}

    async def endpoint(request: Request) -> Response:
        client = request.client
        if client is None or not is_loopback(client.host):
            log.info("control call refused: peer is not loopback")
            return error_response(
                EngineError(403, "forbidden", "The control plane answers on loopback only")
            )
        name = str(request.path_params.get("call", ""))
        call = by_call.get((request.method, name))
        if call is None:
            return error_response(
                EngineError(404, "not_found", f"Unknown control call {request.method} {name!r}")
            )
        try:
            result = await call(control, request)
        except EngineError as error:
            return error_response(error)
        except KeyError as error:
            return error_response(EngineError(404, "not_found", str(error.args[0])))
        except ValueError as error:
            return error_response(_bad(str(error)))
        log.info("control call %s %s", request.method, name)
        return json_response(result)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        Route(CONTROL_PREFIX + "/{call:path}", endpoint, methods=methods),
        Route(CONTROL_PREFIX, endpoint, methods=methods),
    ]
