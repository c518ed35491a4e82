"""The flat verbs of `Signaling`: ``sig.invite(...)`` is ``sig.calls.invite(...)``, and so on.

Forwarders only, documented on the namespaces they forward to. `Signaling` holds the
components (it composes them); this base class only spells the short names, kept apart so
that the facade module stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from ._domains._calls import Calls
from ._domains._channel import Channel
from ._domains._channels import Channels
from ._domains._chat import Chat
from ._domains._groups import Groups
from ._domains._media import Media
from ._domains._presence import Presence
from ._models import (
    Attachment,
    Call,
    CallAnswer,
    ChatMessage,
    Conversation,
    Group,
    HistoryPage,
    JSONObject,
    PresenceInfo,
    UploadTicket,
)
from ._rest._upload import UploadData

__all__ = ["FlatVerbs"]


class FlatVerbs:
    """The short names of the domain verbs (`Signaling` inherits only these forwarders)."""

    _presence: Presence
    _calls: Calls
    _chat: Chat
    _groups: Groups
    _media: Media
    _channels: Channels

    @property
    def presence_subscriptions(self) -> frozenset[str]:
        """`Presence.presence_subscriptions`."""
        return self._presence.presence_subscriptions

    def known_presence(self, user_id: str) -> PresenceInfo | None:
        """`Presence.known_presence`."""
        return self._presence.known_presence(user_id)

    async def subscribe_presence(self, user_ids: Sequence[str]) -> tuple[PresenceInfo, ...]:
        """`Presence.subscribe_presence`."""
        return await self._presence.subscribe_presence(user_ids)

    async def unsubscribe_presence(self, user_ids: Sequence[str]) -> None:
        """`Presence.unsubscribe_presence`."""
        await self._presence.unsubscribe_presence(user_ids)

    async def invite(
        self, to: str, *, video: bool = False, metadata: dict[str, Any] | None = None
    ) -> Call:
        """`Calls.invite`."""
        return await self._calls.invite(to, video=video, metadata=metadata)

    async def ringing(self, call_id: str) -> None:
        """`Calls.ringing`."""
        await self._calls.ringing(call_id)

    async def accept_call(self, call_id: str) -> CallAnswer:
        """`Calls.accept_call`."""
        return await self._calls.accept_call(call_id)

    async def reject_call(self, call_id: str, reason: str | None = None) -> None:
        """`Calls.reject_call`."""
        await self._calls.reject_call(call_id, reason)

    async def cancel_call(self, call_id: str) -> None:
        """`Calls.cancel_call`."""
        await self._calls.cancel_call(call_id)

    async def end_call(self, call_id: str) -> int | None:
        """`Calls.end_call`."""
        return await self._calls.end_call(call_id)

    async def send_message(
        self,
        *,
        to: str | None = None,
        group_id: str | None = None,
        text: str | None = None,
        attachment: Attachment | None = None,
        metadata: JSONObject | None = None,
    ) -> ChatMessage:
        """`Chat.send_message`."""
        return await self._chat.send_message(
            to=to, group_id=group_id, text=text, attachment=attachment, metadata=metadata
        )

    async def mark_delivered(self, conversation_id: str, up_to_seq: int) -> None:
        """`Chat.mark_delivered`."""
        await self._chat.mark_delivered(conversation_id, up_to_seq)

    async def mark_read(self, conversation_id: str, up_to_seq: int) -> None:
        """`Chat.mark_read`."""
        await self._chat.mark_read(conversation_id, up_to_seq)

    async def history(
        self,
        conversation_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> HistoryPage:
        """`Chat.history`."""
        return await self._chat.history(conversation_id, after=after, before=before, limit=limit)

    async def conversations(self) -> tuple[Conversation, ...]:
        """`Chat.conversations`."""
        return await self._chat.conversations()

    async def set_typing(
        self, *, to: str | None = None, group_id: str | None = None, typing: bool = True
    ) -> None:
        """`Chat.set_typing`."""
        await self._chat.set_typing(to=to, group_id=group_id, typing=typing)

    def typing_users(self, conversation_id: str) -> frozenset[str]:
        """`Chat.typing_users`."""
        return self._chat.typing_users(conversation_id)

    def last_delivered_seq(self, conversation_id: str) -> int | None:
        """`Chat.last_delivered_seq`."""
        return self._chat.last_delivered_seq(conversation_id)

    async def create_group(self, name: str, member_ids: Sequence[str]) -> Group:
        """`Groups.create_group`."""
        return await self._groups.create_group(name, member_ids)

    async def list_groups(self) -> tuple[Group, ...]:
        """`Groups.list_groups`."""
        return await self._groups.list_groups()

    async def get_group(self, group_id: str) -> Group:
        """`Groups.get_group`."""
        return await self._groups.get_group(group_id)

    async def rename_group(self, group_id: str, name: str) -> Group:
        """`Groups.rename_group`."""
        return await self._groups.rename_group(group_id, name)

    async def add_group_members(self, group_id: str, user_ids: Sequence[str]) -> Group:
        """`Groups.add_group_members`."""
        return await self._groups.add_group_members(group_id, user_ids)

    async def remove_group_member(self, group_id: str, user_id: str) -> Group:
        """`Groups.remove_group_member`."""
        return await self._groups.remove_group_member(group_id, user_id)

    async def set_group_role(self, group_id: str, user_id: str, role: str) -> Group:
        """`Groups.set_group_role`."""
        return await self._groups.set_group_role(group_id, user_id, role)

    async def leave_group(self, group_id: str) -> None:
        """`Groups.leave_group`."""
        await self._groups.leave_group(group_id)

    async def register_push_token(self, token: str, *, platform: str, provider: str) -> None:
        """`Media.register_push_token`."""
        await self._media.register_push_token(token, platform=platform, provider=provider)

    async def unregister_push_token(self, token: str) -> None:
        """`Media.unregister_push_token`."""
        await self._media.unregister_push_token(token)

    async def presign_upload(
        self, filename: str, content_type: str, size: int, conversation_id: str | None = None
    ) -> UploadTicket:
        """`Media.presign_upload`."""
        return await self._media.presign_upload(
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
        """`Media.upload`."""
        return await self._media.upload(
            data, content_type=content_type, filename=filename, conversation_id=conversation_id
        )

    def subscribe_channel(
        self, name: str, user_info: Mapping[str, Any] | None = None
    ) -> AbstractAsyncContextManager[Channel]:
        """`Channels.subscribe_channel`."""
        return self._channels.subscribe_channel(name, user_info)
