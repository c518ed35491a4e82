"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Push-token registration and media upload (presign + PUT).

Every verb is a REST call made by ``self._core.api`` with the live session's bearer token. Push
tokens are not gated by a plan capability; presign and upload need chat.
"""

from __future__ import annotations

from .._models import Attachment, UploadTicket
from .._rest._upload import UploadData
from .._session._core import SessionCore


class Media:
    """``sig.media``.

    Push-token registration and media upload (presign + PUT).

    Errors come out as `UTDStreamError`: INVALID for an object over 25 MiB (413) or an
    upload the store refuses, FEATURE_DISABLED (``is_chat_disabled``) for media when the plan
    has no chat, and the transport errors of every REST call. Bad arguments raise ValueError
    naming the field before any network call.
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core

    async def register_push_token(self, token: str, *, platform: str, provider: str) -> None:
        """Register this device's push token (idempotent).

        ``platform`` is ``"android"``, ``"ios"`` or ``"web"``; ``provider`` is ``"fcm"``,
        ``"apns"`` or ``"voip"``.
        """
        await self._core.api.register_push_token(token, platform=platform, provider=provider)

    async def unregister_push_token(self, token: str) -> None:
        """Forget a push token; an unknown token is fine."""
        await self._core.api.unregister_push_token(token)

    async def presign_upload(
        self,
        filename: str,
        content_type: str,
        size: int,
        conversation_id: str | None = None,
    ) -> UploadTicket:
        """Ask for a presigned upload of ``size`` bytes (INVALID over 25 MiB).

        PUT the bytes to ``ticket.upload_url`` with exactly ``ticket.headers``; `upload`
        does both steps.
        """
        return await self._core.api.presign_upload(
            filename, content_type, size, conversation_id=conversation_id
        )

    async def upload(
        self,
        data: UploadData,
        *,
        content_type: str,
        filename: str | None = None,
        conversation_id: str | None = None,
    ) -> Attachment:
        """Presign and upload ``data`` (bytes, or a file path streamed in chunks).

        Returns the `Attachment` to pass as ``send_message(attachment=...)``. ``filename``
        defaults to the file's base name and is required for bytes.

        Raises:
            ValueError: bad arguments (e.g. ``filename`` missing for bytes).
            OSError: the file cannot be read.
            UTDStreamError: from the presign or the upload.
        """
        return await self._core.api.upload(
            data, filename=filename, content_type=content_type, conversation_id=conversation_id
        )
