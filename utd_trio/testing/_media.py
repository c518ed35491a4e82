"""Media domain of the reference engine: presign, upload and download [protocol §4].

``POST /api/v1/media/presign`` (bearer, gated by chat) answers a ticket for one object:
``upload_url`` (``PUT`` with exactly the returned ``headers``), ``file_url`` (``GET`` returns
the bytes), ``key`` and ``expires_in``. The engine plays the object store itself:

- ``PUT {upload_url}`` needs no bearer token (the URL carries an unguessable secret, like a
  presigned object-store URL) and stores the body if it is exactly the presigned ``size``
  (more → 413, fewer → 422, nothing stored either way) with the presigned ``Content-Type``
  (else 422). A ticket may be used again until it expires (a retry replaces the bytes); an
  expired ticket → 403, an unknown one → 404.
- ``GET {file_url}`` is public (like an object-store URL) and returns the stored bytes with
  their content type; an object not uploaded (yet) → 404.

Presign checks: ``filename`` non-empty (≤ 255 chars), ``content_type`` ``type/subtype``,
``size`` an integer ≥ 0 (over 25 MiB → 413), ``conversation_id`` optional, non-empty (it is
recorded, not checked against the caller's conversations). Tests inspect stored objects with
:class:`MediaStore` (``state.domain``).

Per-user quota (``open_engine(upload_quota=)``, default 100 MiB, ``None`` = unlimited): the
bytes of the objects a user uploaded, counted once per key (a retried PUT replaces). A presign
whose ``size`` would take the user over the quota, or a PUT that would (several presigns may
be outstanding), is refused with 403 ``limit_exceeded`` (a plan-style limit, classified
``LIMIT_EXCEEDED`` by the client) and nothing is stored.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

import anyio
from starlette.responses import Response

from ._errors import EngineError, JSONObject
from ._registry import Registry
from ._rest import RestContext, read_body

__all__ = [
    "MAX_MEDIA_SIZE",
    "PRESIGN_TTL",
    "MediaStore",
    "StoredObject",
    "UploadTicket",
    "install",
]

MAX_MEDIA_SIZE: Final = 25 * 1024 * 1024
"""Largest presignable object [protocol §4]: 25 MiB."""
PRESIGN_TTL: Final = 900
"""Seconds an upload URL stays valid (``expires_in``)."""
MAX_FILENAME: Final = 255
MAX_CONVERSATION_ID: Final = 2048

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CONTENT_TYPE: Final = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;[\x20-\x7e]*)?")
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")

_PRESIGN = "/api/v1/media/presign"
_UPLOAD = "/media/upload/{secret}"
_FILES = "/media/files/{key:path}"


@dataclass(frozen=True)
class UploadTicket:
    """What the engine remembers of one presign."""

    key: str
    app_id: str
    user_id: str
    filename: str
    content_type: str
    size: int
    conversation_id: str | None
    expires_at: float
    """Loop time after which the upload URL is refused."""


@dataclass(frozen=True)
class StoredObject:
    """An uploaded object."""

    key: str
    content_type: str
    data: bytes


class MediaStore:
    """Presigned tickets and stored objects of an engine. Use as ``state.domain(MediaStore)``."""

    def __init__(self) -> None:
        self.tickets: dict[str, UploadTicket] = {}
        """Upload secret → ticket."""
        self.objects: dict[str, StoredObject] = {}
        """Key → stored object."""
        self.usage: dict[tuple[str, str], int] = {}
        """``(app_id, user_id)`` → bytes of the objects that user stored (quota)."""

    def used_by(self, app_id: str, user_id: str) -> int:
        """Bytes of media ``user_id`` has stored."""
        return self.usage.get((app_id, user_id), 0)

    def store(self, ticket: UploadTicket, data: bytes, quota: int | None) -> None:
        """Store an upload for its ticket's user; 403 ``limit_exceeded`` over ``quota``."""
        user = (ticket.app_id, ticket.user_id)
        previous = self.objects.get(ticket.key)
        used = self.usage.get(user, 0) - (len(previous.data) if previous is not None else 0)
        _check_quota(used, len(data), quota)
        self.objects[ticket.key] = StoredObject(ticket.key, ticket.content_type, data)
        self.usage[user] = used + len(data)

    def object(self, key: str) -> StoredObject | None:
        """The stored object named ``key``, if uploaded."""
        return self.objects.get(key)


def _check_quota(used: int, size: int, quota: int | None) -> None:
    if quota is not None and used + size > quota:
        raise EngineError(
            403,
            "limit_exceeded",
            f"Upload quota exceeded: {used} of {quota} bytes used, {size} more requested",
        )


def _invalid(message: str) -> EngineError:
    return EngineError(422, "invalid", message)


def _same_type(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _presign_fields(body: JSONObject) -> tuple[str, str, int, str | None]:
    filename = body.get("filename")
    if not isinstance(filename, str) or not filename.strip() or len(filename) > MAX_FILENAME:
        raise _invalid(f"filename must be a non-empty string of at most {MAX_FILENAME} chars")
    content_type = body.get("content_type")
    if not isinstance(content_type, str) or _CONTENT_TYPE.fullmatch(content_type) is None:
        raise _invalid("content_type must be a media type such as image/png")
    size = body.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid("size must be an integer >= 0")
    if size > MAX_MEDIA_SIZE:
        raise EngineError(413, "too_large", f"size is over {MAX_MEDIA_SIZE} bytes (25 MiB)")
    conversation_id = body.get("conversation_id")
    if conversation_id is not None and (
        not isinstance(conversation_id, str)
        or not conversation_id
        or len(conversation_id) > MAX_CONVERSATION_ID
    ):
        raise _invalid("conversation_id must be a non-empty string")
    return filename, content_type, size, conversation_id


async def _presign(ctx: RestContext) -> JSONObject:
    filename, content_type, size, conversation_id = _presign_fields(await ctx.json())
    store = ctx.state.domain(MediaStore)
    user = ctx.user
    _check_quota(store.used_by(user.app_id, user.user_id), size, ctx.state.settings.upload_quota)
    safe_name = _UNSAFE.sub("_", filename).strip("._")[:100] or "file"
    key = f"media/{secrets.token_hex(12)}/{safe_name}"
    secret = secrets.token_urlsafe(24)
    store.tickets[secret] = UploadTicket(
        key=key,
        app_id=ctx.user.app_id,
        user_id=ctx.user.user_id,
        filename=filename,
        content_type=content_type,
        size=size,
        conversation_id=conversation_id,
        expires_at=anyio.current_time() + PRESIGN_TTL,
    )
    base = ctx.state.base_url
    return {
        "upload_url": f"{base}/media/upload/{secret}",
        "method": "PUT",
        "headers": {"Content-Type": content_type},
        "file_url": f"{base}/media/files/{key}",
        "key": key,
        "expires_in": PRESIGN_TTL,
    }


async def _upload(ctx: RestContext) -> JSONObject:
    store = ctx.state.domain(MediaStore)
    ticket = store.tickets.get(ctx.request.path_params["secret"])
    # Read (or drain) the body before any answer, so the client sees the status, not a reset.
    data = await read_body(ctx.request, ticket.size if ticket is not None else MAX_MEDIA_SIZE)
    if ticket is None:
        raise EngineError(404, "not_found", "Unknown upload URL")
    if anyio.current_time() > ticket.expires_at:
        raise EngineError(403, "expired", "The upload URL has expired")
    sent_type = ctx.request.headers.get("content-type", "")
    if not _same_type(sent_type, ticket.content_type):
        raise _invalid(f"Content-Type must be {ticket.content_type!r} as presigned")
    if len(data) != ticket.size:
        raise _invalid(f"Body is {len(data)} bytes; {ticket.size} were presigned")
    store.store(ticket, data, ctx.state.settings.upload_quota)
    return {"ok": True, "key": ticket.key, "size": len(data)}


async def _download(ctx: RestContext) -> Response:
    stored = ctx.state.domain(MediaStore).object(ctx.request.path_params["key"])
    if stored is None:
        raise EngineError(404, "not_found", "No such object")
    # Set the header itself: ``media_type`` would append a charset to text/* types.
    return Response(stored.data, headers={"Content-Type": stored.content_type})


def install(registry: Registry) -> None:
    """Register presign (bearer, gated by chat) and the object-store URLs (no bearer)."""
    registry.route(_PRESIGN, _presign, methods=["POST"], gate="chat")
    registry.route(_UPLOAD, _upload, methods=["PUT"], auth=False)
    registry.route(_FILES, _download, methods=["GET"], auth=False)
