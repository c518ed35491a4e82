"""Facade verbs of `Signaling`.

Chat messages, receipts, typing, history and no-loss recovery across reconnects (chat capability).
"""

from __future__ import annotations

from ._core import SessionCore


class ChatVerbs(SessionCore):
    """Mixin of `Signaling`.

    Chat messages, receipts, typing, history and no-loss recovery (chat capability).
    """
