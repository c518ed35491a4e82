"""Facade verbs of `Signaling`.

1:1 call invitations: invite, accept, reject, cancel, end (signaling capability).
"""

from __future__ import annotations

from ._core import SessionCore


class CallVerbs(SessionCore):
    """Mixin of `Signaling`.

    1:1 call invitations: invite, accept, reject, cancel, end (signaling capability).
    """
