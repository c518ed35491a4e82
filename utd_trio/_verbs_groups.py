"""Facade verbs of `Signaling`.

Chat groups: create, list, rename, members and roles, leave (chat capability).
"""

from __future__ import annotations

from ._core import SessionCore


class GroupVerbs(SessionCore):
    """Mixin of `Signaling`.

    Chat groups: create, list, rename, members and roles, leave (chat capability).
    """
