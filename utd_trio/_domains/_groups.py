"""A domain component of `Signaling` (its namespace, e.g. ``sig.chat``).

Chat groups: create, list, rename, members and roles, leave (chat capability).

Every verb is a REST call made by ``self._core.api`` with the live session's bearer token (one
re-mint and retry on 401). Changes made by anyone — this session included — also arrive as
`GroupChanged` events on the WebSocket, to the members before and after the change.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._models import Group
from .._session._core import SessionCore


class Groups:
    """``sig.groups``.

    Chat groups: create, list, rename, members and roles, leave (chat capability).

    Roles: ``owner`` (the creator; cannot be removed, role fixed), ``admin`` and ``member``.
    Owner and admins rename and add; the owner removes anyone else, an admin removes plain
    members only; only the owner changes roles. Errors come out as `UTDStreamError`:
    FORBIDDEN for a rule violation or a group you do not belong to, NOT_FOUND for an unknown
    group (or a target who is not a member), LIMIT_EXCEEDED past ``max_group_members`` /
    ``max_chatrooms``, FEATURE_DISABLED (``is_chat_disabled``) when the plan has no chat,
    and the transport errors of every REST call. Bad arguments raise ValueError naming the
    field before any network call.
    """

    def __init__(self, core: SessionCore) -> None:
        self._core = core

    async def create_group(self, name: str, member_ids: Sequence[str]) -> Group:
        """Create a group owned by this user with ``member_ids`` as members.

        The owner counts towards ``max_group_members``; each user may own at most
        ``max_chatrooms`` groups (LIMIT_EXCEEDED beyond either).
        """
        return await self._core.api.create_group(name, member_ids)

    async def list_groups(self) -> tuple[Group, ...]:
        """The groups this user belongs to, oldest first."""
        return await self._core.api.list_groups()

    async def get_group(self, group_id: str) -> Group:
        """One group (FORBIDDEN if this user is not a member, NOT_FOUND if unknown)."""
        return await self._core.api.get_group(group_id)

    async def rename_group(self, group_id: str, name: str) -> Group:
        """Rename a group (owner or admin) and return it."""
        return await self._core.api.rename_group(group_id, name)

    async def add_group_members(self, group_id: str, user_ids: Sequence[str]) -> Group:
        """Add members (owner or admin); users already in the group are left as they are."""
        return await self._core.api.add_group_members(group_id, user_ids)

    async def remove_group_member(self, group_id: str, user_id: str) -> Group:
        """Remove a member: the owner removes anyone else, an admin plain members only.

        Nobody removes themselves this way: use `leave_group`.
        """
        return await self._core.api.remove_group_member(group_id, user_id)

    async def set_group_role(self, group_id: str, user_id: str, role: str) -> Group:
        """Make a member ``"admin"`` or ``"member"`` (owner only; the owner's role is fixed)."""
        return await self._core.api.set_group_role(group_id, user_id, role)

    async def leave_group(self, group_id: str) -> None:
        """Leave a group.

        When the owner leaves, ownership passes to the oldest admin, else the oldest member;
        when the last member leaves, the group is deleted.
        """
        await self._core.api.leave_group(group_id)
