"""The domain modules every engine installs (presence, calls, chat, groups, devices, media...).

To add a domain: write ``utd_trio/testing/_<domain>.py`` with ``install(registry)`` (see
``_registry.py``) and add its installer to :data:`INSTALLERS` below. Nothing else changes.
"""

from __future__ import annotations

from . import _calls, _channels, _chat, _groups, _media, _presence, _push
from ._registry import Installer

__all__ = ["INSTALLERS"]

INSTALLERS: tuple[Installer, ...] = (
    _presence.install,
    _calls.install,
    _chat.install,
    _groups.install,
    _push.install,
    _media.install,
    _channels.install,
)
"""Installers run, in order, on each new engine's registry."""
