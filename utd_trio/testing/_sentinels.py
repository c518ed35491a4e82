"""Sentinel values of the control methods: :data:`KEEP` (leave as is) and :data:`EVERY` (any)."""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["EVERY", "KEEP", "Every", "Keep"]


class Keep(enum.Enum):
    """Type of :data:`KEEP`."""

    KEEP = "KEEP"

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep.KEEP
"""Default of :meth:`EngineControl.set_plan` arguments: leave this part of the plan as is."""


class Every(enum.Enum):
    """Type of :data:`EVERY`."""

    EVERY = "EVERY"

    def __repr__(self) -> str:
        return "EVERY"


EVERY: Final = Every.EVERY
"""Filter of the ``*_matching`` control methods: every project, or every user."""
