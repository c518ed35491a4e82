"""State of the groups domain of the reference engine: group records and their role rules.

Pure state, no I/O: :class:`GroupStore` applies the rules of protocol §4/§10 and raises
:class:`EngineError` on a violation; ``_groups.py`` turns its results into REST answers and
``group.updated`` events. Other domains (group messaging) read it through
``state.domain(GroupStore).get(app_id, group_id)``.

Rules (protocol §10, plus this engine's choices where the contract is silent):

- Roles are ``owner`` (exactly one), ``admin`` and ``member``. The creator is the owner.
- The owner and admins rename and add members; the owner removes anyone but themselves; an
  admin removes members but not admins (nor the owner); members do neither.
- Only the owner changes roles, only to ``admin`` or ``member``, and never their own.
- Nobody removes themselves with ``DELETE members/{uid}``: that is what ``leave`` is for.
- When the owner leaves, ownership passes to the oldest admin, else the oldest member
  ("oldest" = earliest to join). When the last member leaves, the group is deleted.
- ``max_group_members`` counts the owner; ``max_chatrooms`` caps the groups a user *owns* and
  is checked on create only (an inherited ownership is never refused).
- Adding users who already belong is a no-op for them; unknown groups are 404, a caller who
  is not a member gets 403, a target user who is not a member gets 404.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from ._errors import EngineError, JSONObject

__all__ = [
    "ADMIN",
    "MEMBER",
    "OWNER",
    "GroupRecord",
    "GroupStore",
    "LeaveResult",
    "Role",
    "new_group_id",
]

Role = Literal["owner", "admin", "member"]
"""A member's role in a group."""

OWNER: Final = "owner"
ADMIN: Final = "admin"
MEMBER: Final = "member"


def new_group_id() -> str:
    """A fresh engine-made group id."""
    return "grp_" + secrets.token_hex(12)


def _limit_exceeded(message: str) -> EngineError:
    return EngineError(403, "limit_exceeded", message)


def _forbidden(message: str) -> EngineError:
    return EngineError(403, "forbidden", message)


@dataclass
class GroupRecord:
    """One group. ``members`` maps user id → role in join order, the owner included."""

    group_id: str
    name: str
    owner: str
    created_at: str
    members: dict[str, Role] = field(default_factory=dict[str, "Role"])

    @property
    def conversation_id(self) -> str:
        """The conversation id of the group's messages: ``group:<gid>``."""
        return f"group:{self.group_id}"

    def is_member(self, user_id: str) -> bool:
        """Whether ``user_id`` belongs to the group."""
        return user_id in self.members

    def role_of(self, user_id: str) -> Role | None:
        """The user's role, ``None`` if not a member."""
        return self.members.get(user_id)

    def wire(self) -> JSONObject:
        """The wire group object: ``group_id``, ``name``, ``owner``, ``members``, ``created_at``."""
        return {
            "group_id": self.group_id,
            "name": self.name,
            "owner": self.owner,
            "members": [{"user_id": user, "role": role} for user, role in self.members.items()],
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class LeaveResult:
    """What a ``leave`` did: who must hear of it, and whether the group is gone."""

    group: GroupRecord
    """The group after the change (with no members if it was deleted)."""
    before: tuple[str, ...]
    """Members before the change (the leaver included)."""
    new_owner: str | None
    """The user who inherited ownership, if the owner left and someone remained."""
    deleted: bool
    """Whether the last member left and the group no longer exists."""


class GroupStore:
    """Every group of an engine, per project. Use as ``state.domain(GroupStore)``."""

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], GroupRecord] = {}

    # ---- reads ----------------------------------------------------------------------------

    def get(self, app_id: str, group_id: str) -> GroupRecord | None:
        """The group, ``None`` if unknown (or deleted)."""
        return self._groups.get((app_id, group_id))

    def of_user(self, app_id: str, user_id: str) -> list[GroupRecord]:
        """Groups ``user_id`` belongs to, oldest first."""
        return [g for g in self._project(app_id) if g.is_member(user_id)]

    def owned_by(self, app_id: str, user_id: str) -> int:
        """How many groups ``user_id`` owns."""
        return sum(1 for g in self._project(app_id) if g.owner == user_id)

    def _project(self, app_id: str) -> list[GroupRecord]:
        return [g for (app, _), g in self._groups.items() if app == app_id]

    def require(self, app_id: str, group_id: str, caller: str) -> GroupRecord:
        """The group as seen by ``caller``: unknown → 404, caller not a member → 403."""
        group = self.get(app_id, group_id)
        if group is None:
            raise EngineError(404, "not_found", "Group not found")
        if not group.is_member(caller):
            raise _forbidden("Not a member of this group")
        return group

    # ---- changes --------------------------------------------------------------------------

    def create(
        self,
        app_id: str,
        owner: str,
        name: str,
        member_ids: Iterable[str],
        *,
        created_at: str,
        max_members: int | None,
        max_owned: int | None,
    ) -> GroupRecord:
        """Create a group owned by ``owner`` with ``member_ids`` as members (403 on a cap)."""
        if max_owned is not None and self.owned_by(app_id, owner) >= max_owned:
            raise _limit_exceeded(f"A user may own at most {max_owned} groups")
        members: dict[str, Role] = {owner: OWNER}
        for user in member_ids:
            members.setdefault(user, MEMBER)
        if max_members is not None and len(members) > max_members:
            raise _limit_exceeded(f"A group may have at most {max_members} members")
        group_id = new_group_id()
        while (app_id, group_id) in self._groups:  # pragma: no cover - 96 random bits
            group_id = new_group_id()
        group = GroupRecord(group_id, name, owner, created_at, members)
        self._groups[(app_id, group_id)] = group
        return group

    def rename(self, app_id: str, group_id: str, caller: str, name: str) -> GroupRecord:
        """Rename the group (owner or admin)."""
        group = self.require(app_id, group_id, caller)
        if group.role_of(caller) == MEMBER:
            raise _forbidden("Only the owner or an admin may rename the group")
        group.name = name
        return group

    def add(
        self,
        app_id: str,
        group_id: str,
        caller: str,
        user_ids: Iterable[str],
        *,
        max_members: int | None,
    ) -> tuple[GroupRecord, list[str]]:
        """Add members (owner or admin); returns the group and the users actually added."""
        group = self.require(app_id, group_id, caller)
        if group.role_of(caller) == MEMBER:
            raise _forbidden("Only the owner or an admin may add members")
        added = list(dict.fromkeys(u for u in user_ids if not group.is_member(u)))
        if max_members is not None and len(group.members) + len(added) > max_members:
            raise _limit_exceeded(f"A group may have at most {max_members} members")
        for user in added:
            group.members[user] = MEMBER
        return group, added

    def remove(self, app_id: str, group_id: str, caller: str, user_id: str) -> GroupRecord:
        """Remove ``user_id`` (owner: anyone but themselves; admin: plain members only)."""
        group = self.require(app_id, group_id, caller)
        caller_role = group.role_of(caller)
        target_role = group.role_of(user_id)
        if target_role is None:
            raise EngineError(404, "not_found", "User is not a member of this group")
        if target_role == OWNER:
            raise _forbidden("The owner cannot be removed")
        if user_id == caller:
            raise _forbidden("Use leave to leave a group")
        if caller_role == MEMBER:
            raise _forbidden("Only the owner or an admin may remove members")
        if caller_role == ADMIN and target_role == ADMIN:
            raise _forbidden("An admin cannot remove another admin")
        del group.members[user_id]
        return group

    def set_role(
        self, app_id: str, group_id: str, caller: str, user_id: str, role: Role
    ) -> GroupRecord:
        """Set ``user_id``'s role to ``admin`` or ``member`` (owner only)."""
        group = self.require(app_id, group_id, caller)
        if group.role_of(caller) != OWNER:
            raise _forbidden("Only the owner may change roles")
        target_role = group.role_of(user_id)
        if target_role is None:
            raise EngineError(404, "not_found", "User is not a member of this group")
        if target_role == OWNER:
            raise _forbidden("The owner's role cannot be changed")
        if role == OWNER:
            raise EngineError(422, "invalid", "role must be 'admin' or 'member'")
        group.members[user_id] = role
        return group

    def leave(self, app_id: str, group_id: str, caller: str) -> LeaveResult:
        """``caller`` leaves; ownership passes on, or the group is deleted when it empties."""
        group = self.require(app_id, group_id, caller)
        before = tuple(group.members)
        was_owner = group.role_of(caller) == OWNER
        del group.members[caller]
        if not group.members:
            del self._groups[(app_id, group_id)]
            return LeaveResult(group, before, None, deleted=True)
        new_owner: str | None = None
        if was_owner:
            admins = [user for user, role in group.members.items() if role == ADMIN]
            new_owner = admins[0] if admins else next(iter(group.members))
            group.members[new_owner] = OWNER
            group.owner = new_owner
        return LeaveResult(group, before, new_owner, deleted=False)
