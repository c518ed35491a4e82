"""Pure helpers of `UTDApi`: decoding replies, and the input checks it uses.

No I/O. Reply helpers turn a 2xx body into records (``PROTOCOL`` when it breaks the contract)
and a non-2xx reply into the classified `UTDStreamError`. The input checks live in
`utd_trio._protocol._validate` (the one validation module) and are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx

from .._errors import ErrorCode, UTDStreamError
from .._models import Group, Session
from .._protocol import _vocab as v
from .._protocol._classify import classify_body, parse_retry_after
from .._protocol._parse import WireFormatError, parse_group, parse_object
from .._protocol._validate import (
    check_choice,
    check_content_type,
    check_count,
    check_header_value,
    check_identity,
    check_ids,
    check_non_empty,
    check_push_token,
)

__all__ = [
    "AUTHORIZATION",
    "MAX_HISTORY_LIMIT",
    "PLATFORMS",
    "PROVIDERS",
    "ROLES",
    "as_group",
    "as_object",
    "bearer_headers",
    "check_choice",
    "check_content_type",
    "check_count",
    "check_header_value",
    "check_ids",
    "check_push_token",
    "checked",
    "data_list",
    "error_of",
    "group_path",
    "json_or_none",
    "parse_items",
    "parse_with",
    "segment",
]

_T = TypeVar("_T")
PLATFORMS = ("android", "ios", "web")
PROVIDERS = ("fcm", "apns", "voip")
ROLES = ("admin", "member")
MAX_HISTORY_LIMIT = 200
AUTHORIZATION = "Authorization"  # HTTP itself, not a contract name


def bearer_headers(session: Session) -> dict[str, str]:
    """The ``Authorization`` header of a bearer call (never logged)."""
    return {AUTHORIZATION: f"Bearer {session.user_token}"}


def json_or_none(response: httpx.Response) -> Any:
    """The reply body as JSON, or None when it is empty or not JSON."""
    try:
        return json.loads(response.content) if response.content.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None


def error_of(response: httpx.Response) -> UTDStreamError:
    """The classified error of a non-2xx reply (``Retry-After`` kept)."""
    retry_after = parse_retry_after(response.headers.get(v.HEADER_RETRY_AFTER))
    return classify_body(response.status_code, json_or_none(response), retry_after=retry_after)


def checked(response: httpx.Response) -> Any:
    """The decoded JSON of a 2xx reply (None when empty or not JSON); else the error."""
    if not 200 <= response.status_code < 300:
        raise error_of(response)
    return json_or_none(response)


def as_object(body: Any, what: str) -> dict[str, Any]:
    """``body`` as a JSON object, else ``PROTOCOL``."""
    obj = parse_object(body)
    if obj is None:
        raise UTDStreamError(ErrorCode.PROTOCOL, f"{what}: the reply is not a JSON object")
    return obj


def data_list(body: Any, what: str) -> list[Any]:
    """The ``data`` list of a listing reply (a bare JSON list is accepted too)."""
    items: object = body
    if not isinstance(items, list):
        items = as_object(body, what).get("data")
    if not isinstance(items, list):
        raise UTDStreamError(ErrorCode.PROTOCOL, f"{what}: the reply has no data list")
    return list(cast("list[object]", items))


def parse_with(parser: Callable[[dict[str, Any]], _T], obj: dict[str, Any], what: str) -> _T:
    """Run a record parser; a record missing a required field is ``PROTOCOL``."""
    try:
        return parser(obj)
    except WireFormatError as exc:
        raise UTDStreamError(ErrorCode.PROTOCOL, f"{what}: {exc}") from None


def parse_items(parser: Callable[[dict[str, Any]], _T], items: list[Any]) -> tuple[_T, ...]:
    """Parse each object of a listing; items that are not usable records are skipped."""
    result: list[_T] = []
    for item in items:
        obj = parse_object(item)
        if obj is None:
            continue
        try:
            result.append(parser(obj))
        except WireFormatError:
            continue
    return tuple(result)


def as_group(body: Any) -> Group:
    """A group reply, else ``PROTOCOL``."""
    return parse_with(parse_group, as_object(body, "group"), "group")


def segment(value: str) -> str:
    """One URL path segment, percent-encoded (ids are opaque and may hold ``/``)."""
    return quote(value, safe=":@")


def group_path(template: str, group_id: str, user_id: str | None = None) -> str:
    """A group route with its ids checked and encoded."""
    gid = segment(check_non_empty(group_id, "group_id"))
    if user_id is None:
        return template.format(gid=gid)
    return template.format(gid=gid, uid=segment(check_identity(user_id, "user_id")))
