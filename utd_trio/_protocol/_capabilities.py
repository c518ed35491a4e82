"""`CapabilityState`: the session's billed capabilities and plan limits, with time left out.

Sources, in the order they arrive: the mint reply of each connection generation (the flags
and limits it carries replace what was known) and ``capabilities.updated`` frames (a full
snapshot; protocol §7). Missing or unparseable values mean unknown (``None``), never False.
Every change after the first connection is one `CapabilitiesChanged` event for the shell to
publish; the first generation's values are what ``open_signaling`` returns with, so nothing
is published for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._events import CapabilitiesChanged
from .._models import Capabilities, Session
from ._parse import parse_capabilities

__all__ = ["CapabilityState"]


class CapabilityState:
    """What the session knows of its capabilities; each input returns the event to publish."""

    __slots__ = ("current",)

    def __init__(self) -> None:
        self.current = Capabilities()

    def on_session(self, session: Session, generation: int) -> CapabilitiesChanged | None:
        """A new connection generation with the ``session`` minted for it."""
        return self._set(session.capabilities, publish=generation > 1)

    def on_update(self, data: Mapping[str, Any], generation: int) -> CapabilitiesChanged | None:
        """A ``capabilities.updated`` frame's data, on connection ``generation``."""
        return self._set(parse_capabilities(data), publish=generation > 0)

    def _set(self, new: Capabilities, *, publish: bool) -> CapabilitiesChanged | None:
        old, self.current = self.current, new
        return CapabilitiesChanged(old, new) if publish and old != new else None
