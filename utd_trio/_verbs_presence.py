"""Facade verbs of `Signaling`.

Presence: subscribe to users' online state (signaling capability).
"""

from __future__ import annotations

from ._core import SessionCore


class PresenceVerbs(SessionCore):
    """Mixin of `Signaling`.

    Presence: subscribe to users' online state (signaling capability).
    """
