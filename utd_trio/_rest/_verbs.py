"""The bearer-token endpoints of `UTDApi`: push tokens, media, presence, chat and groups.

A mixin: `UTDApi` supplies the transport (``_bearer``, ``_send``) and the TLS policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._models import Attachment, Conversation, Group, HistoryPage, PresenceInfo, UploadTicket
from .._protocol import _vocab as v
from .._protocol._parse import (
    parse_conversation,
    parse_group,
    parse_history,
    parse_presence_list,
    parse_upload_ticket,
)
from .._protocol._validate import check_int_in, check_non_empty
from ._exchange import RestExchange
from ._upload import UploadData, check_upload_url, open_source, put_headers
from ._wire import (
    MAX_HISTORY_LIMIT,
    PLATFORMS,
    PROVIDERS,
    ROLES,
    as_group,
    as_object,
    check_choice,
    check_content_type,
    check_count,
    check_ids,
    check_push_token,
    checked,
    data_list,
    group_path,
    parse_items,
    parse_with,
    segment,
)

__all__ = ["RestVerbs"]


class RestVerbs(RestExchange):
    """Bearer-token REST calls; every one raises `UTDStreamError` on failure.

    Common errors: ``UNAUTHORIZED`` (after one refresh and one retry), ``FORBIDDEN`` /
    ``FEATURE_DISABLED`` / ``BANNED``, ``NOT_FOUND``, ``INVALID``, ``RATE_LIMITED``,
    ``NETWORK``, ``TIMEOUT``, ``PROTOCOL``, ``CLOSED``.
    """

    # --- push tokens -----------------------------------------------------------------------

    async def register_push_token(self, token: str, *, platform: str, provider: str) -> None:
        """Register a device push token (idempotent).

        Raises:
            ValueError: empty ``token``, ``platform`` not android/ios/web, or ``provider``
                not fcm/apns/voip.
            UTDStreamError: as for every bearer call.

        """
        body = {
            "token": check_push_token(token),
            "platform": check_choice(platform, "platform", PLATFORMS),
            "provider": check_choice(provider, "provider", PROVIDERS),
        }
        await self._bearer("POST", v.PATH_PUSH_TOKEN, body=body)

    async def unregister_push_token(self, token: str) -> None:
        """Forget a device push token; an unknown token is fine."""
        await self._bearer("DELETE", v.PATH_PUSH_TOKEN, body={"token": check_push_token(token)})

    # --- media -----------------------------------------------------------------------------

    async def presign_upload(
        self,
        filename: str,
        content_type: str,
        size: int,
        conversation_id: str | None = None,
    ) -> UploadTicket:
        """Ask for a presigned upload (``POST /api/v1/media/presign``; gated by chat).

        Raises:
            ValueError: empty ``filename``, a malformed ``content_type``, a negative ``size``
                or an empty ``conversation_id``.
            UTDStreamError: ``INVALID`` (413: too large), ``FEATURE_DISABLED``, and as for
                every bearer call.

        """
        body: dict[str, Any] = {
            "filename": check_non_empty(filename, "filename"),
            "content_type": check_content_type(content_type),
            "size": check_count(size, "size"),
        }
        if conversation_id is not None:
            body["conversation_id"] = check_non_empty(conversation_id, "conversation_id")
        reply = await self._bearer("POST", v.PATH_PRESIGN, body=body)
        return parse_with(parse_upload_ticket, as_object(reply, "presign"), "presign")

    async def upload(
        self,
        data: UploadData,
        *,
        filename: str | None = None,
        content_type: str,
        conversation_id: str | None = None,
    ) -> Attachment:
        """Presign and upload ``data`` (bytes, or a file path streamed in chunks).

        The bytes go to the ticket's ``upload_url`` with exactly its headers (plus
        ``Content-Length`` for a file); the returned `Attachment` goes into a message.
        ``filename`` defaults to the file's base name and is required for bytes. The upload
        itself has per-operation timeouts but no overall deadline, so large files can finish.

        Raises:
            ValueError: bad arguments (see `presign_upload`; ``filename`` missing for bytes).
            OSError: the file cannot be read.
            UTDStreamError: from the presign or the upload (``PROTOCOL`` when the
                ``upload_url`` would downgrade TLS).

        """
        content_type = check_content_type(content_type)
        source = await open_source(data, filename)
        name = check_non_empty(source.name, "filename")
        ticket = await self.presign_upload(
            name, content_type, source.size, conversation_id=conversation_id
        )
        upload_url = check_upload_url(
            ticket.upload_url, base_url=self._base_url, allow_insecure=self._allow_insecure
        )
        response = await self._send(
            ticket.method,
            upload_url,
            headers=put_headers(ticket.headers, source),
            content=source.body(),
            deadline=False,
        )
        checked(response)
        return Attachment(
            url=ticket.file_url,
            key=ticket.key,
            content_type=content_type,
            size=source.size,
            name=name,
        )

    # --- presence and chat -----------------------------------------------------------------

    async def presence(self, user_ids: Sequence[str]) -> tuple[PresenceInfo, ...]:
        """The presence of up to 1000 users (gated by signaling); no ids → no call, ``()``."""
        ids = check_ids(user_ids, "user_ids", limit=v.MAX_PRESENCE_IDS)
        if not ids:
            return ()
        reply = await self._bearer("GET", v.PATH_PRESENCE, params={"user_ids": ",".join(ids)})
        return parse_presence_list(data_list(reply, "presence"))

    async def conversations(self) -> tuple[Conversation, ...]:
        """The user's conversations (DMs and groups); unusable items are skipped."""
        reply = await self._bearer("GET", v.PATH_CONVERSATIONS)
        return parse_items(parse_conversation, data_list(reply, "conversations"))

    async def history(
        self,
        conversation_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> HistoryPage:
        """One page of history, ascending by ``seq``.

        With ``after``: the oldest messages after that seq; without: the newest (before
        ``before`` if given). ``has_more`` says whether more exist in that direction.

        Raises:
            ValueError: empty ``conversation_id``, negative ``after``/``before``, or
                ``limit`` outside 1..200.

        """
        cid = check_non_empty(conversation_id, "conversation_id")
        limit = check_int_in(limit, "limit", 1, MAX_HISTORY_LIMIT)
        params: dict[str, str | int] = {"limit": limit}
        if after is not None:
            params["after"] = check_count(after, "after")
        if before is not None:
            params["before"] = check_count(before, "before")
        path = v.PATH_CONVERSATION_MESSAGES.format(cid=segment(cid))
        reply = await self._bearer("GET", path, params=params)
        obj = as_object(reply, "history")
        data_list(obj, "history")
        return parse_history(obj)

    # --- groups ----------------------------------------------------------------------------

    async def create_group(self, name: str, member_ids: Sequence[str]) -> Group:
        """Create a group owned by the caller, with ``member_ids`` as members."""
        body = {
            "name": check_non_empty(name, "name"),
            "member_ids": check_ids(member_ids, "member_ids"),
        }
        return as_group(await self._bearer("POST", v.PATH_GROUPS, body=body))

    async def list_groups(self) -> tuple[Group, ...]:
        """The groups the caller belongs to; unusable items are skipped."""
        reply = await self._bearer("GET", v.PATH_GROUPS)
        return parse_items(parse_group, data_list(reply, "groups"))

    async def get_group(self, group_id: str) -> Group:
        """One group."""
        return as_group(await self._bearer("GET", group_path(v.PATH_GROUP, group_id)))

    async def rename_group(self, group_id: str, name: str) -> Group:
        """Rename a group (owner or admin)."""
        body = {"name": check_non_empty(name, "name")}
        return as_group(await self._bearer("PATCH", group_path(v.PATH_GROUP, group_id), body=body))

    async def add_group_members(self, group_id: str, user_ids: Sequence[str]) -> Group:
        """Add members (owner or admin); ``LIMIT_EXCEEDED`` past ``max_group_members``."""
        ids = check_ids(user_ids, "user_ids")
        if not ids:
            raise ValueError("user_ids must name at least one user")
        path = group_path(v.PATH_GROUP_MEMBERS, group_id)
        return as_group(await self._bearer("POST", path, body={"user_ids": ids}))

    async def remove_group_member(self, group_id: str, user_id: str) -> Group:
        """Remove a member (owner, or an admin removing a plain member)."""
        path = group_path(v.PATH_GROUP_MEMBER, group_id, user_id)
        return as_group(await self._bearer("DELETE", path))

    async def set_group_role(self, group_id: str, user_id: str, role: str) -> Group:
        """Make a member ``admin`` or ``member`` (owner only)."""
        body = {"role": check_choice(role, "role", ROLES)}
        path = group_path(v.PATH_GROUP_MEMBER_ROLE, group_id, user_id)
        return as_group(await self._bearer("PUT", path, body=body))

    async def leave_group(self, group_id: str) -> None:
        """Leave a group; an owner leaving hands ownership on."""
        await self._bearer("POST", group_path(v.PATH_GROUP_LEAVE, group_id))
