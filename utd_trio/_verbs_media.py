"""Facade verbs of `Signaling`.

Push-token registration and media upload (presign + PUT).
"""

from __future__ import annotations

from ._core import SessionCore


class MediaVerbs(SessionCore):
    """Mixin of `Signaling`.

    Push-token registration and media upload (presign + PUT).
    """
