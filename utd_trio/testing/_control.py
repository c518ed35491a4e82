"""Control handle methods of the engine: projects, plans, bans, faults, observability."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Iterable, Mapping
from typing import Final

import trio

from ._mint import default_failure_message
from ._project import ProjectConfig, capability_snapshot
from ._push import PushRegistration, PushTokenStore
from ._session import Session
from ._state import EngineState, EngineStats, MintFailure

__all__ = ["KEEP", "EngineControl", "Keep"]

log = logging.getLogger("utd_trio.testing")


class Keep(enum.Enum):
    """Type of :data:`KEEP`."""

    KEEP = "KEEP"

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = Keep.KEEP
"""Default of :meth:`EngineControl.set_plan` arguments: leave this part of the plan as is."""


async def _wait_finished(sessions: Iterable[Session]) -> None:
    for session in sessions:
        await session.wait_finished()


class EngineControl:
    """The control methods of :class:`~utd_trio.testing.Engine`.

    ``app_id=None`` always means the default project (the first one given to
    ``open_engine``). User identities are per project.
    """

    _state: EngineState

    # ---- projects and plans ---------------------------------------------------------------

    def add_project(self, cfg: ProjectConfig) -> None:
        """Add another project (tenant) to the running engine."""
        self._state.add_project(cfg)

    def project(self, app_id: str | None = None) -> ProjectConfig:
        """The current configuration of a project (reflects :meth:`set_plan`)."""
        return self._state.project(app_id)

    async def set_plan(
        self,
        app_id: str | None = None,
        *,
        signaling_enabled: bool | Keep | None = KEEP,
        chat_enabled: bool | Keep | None = KEEP,
        limits: Mapping[str, int | None] | Keep | None = KEEP,
        wire_overrides: Mapping[str, object] | Keep | None = KEEP,
    ) -> int:
        """Change a project's plan live.

        Later mints return the new plan, the capability gate uses it at once, and every open
        socket of the project gets ``capabilities.updated`` with a full snapshot (mint field
        names; ``None`` flags and ``limits`` omitted). Returns how many sockets were told.
        """
        key = self._state.resolve_app_id(app_id)
        project = self._state.projects[key]
        changes: dict[str, object] = {}
        if not isinstance(signaling_enabled, Keep):
            changes["signaling_enabled"] = signaling_enabled
        if not isinstance(chat_enabled, Keep):
            changes["chat_enabled"] = chat_enabled
        if not isinstance(limits, Keep):
            changes["limits"] = None if limits is None else dict(limits)
        if not isinstance(wire_overrides, Keep):
            changes["wire_overrides"] = wire_overrides
        project = dataclasses.replace(project, **changes)  # type: ignore[arg-type]
        self._state.projects[key] = project
        snapshot = capability_snapshot(project)
        sessions = self._state.sockets.of_project(key)
        for session in sessions:
            session.send("capabilities.updated", dict(snapshot))
        log.info("plan of %s changed; told %d sockets", key, len(sessions))
        await trio.lowlevel.checkpoint()
        return len(sessions)

    # ---- users ----------------------------------------------------------------------------

    async def ban(self, user_id: str, app_id: str | None = None) -> int:
        """Ban a user: later mints get 403 ``banned``, open sockets close with 4003.

        Returns how many sockets were closed, after they finished closing.
        """
        key = self._state.resolve_app_id(app_id)
        self._state.banned.add((key, user_id))
        sessions = self._state.sockets.of_user(key, user_id)
        for session in sessions:
            session.close(4003, "User is banned")
        await _wait_finished(sessions)
        return len(sessions)

    def unban(self, user_id: str, app_id: str | None = None) -> None:
        """Lift a ban."""
        self._state.banned.discard((self._state.resolve_app_id(app_id), user_id))

    def revoke_tokens(self, user_id: str, app_id: str | None = None) -> int:
        """Invalidate every token of the user (REST 401, WS upgrade 401); returns the count.

        Open sockets stay up; add ``await drop_sockets(user, code=4001)`` to kick them.
        """
        return self._state.tokens.revoke(self._state.resolve_app_id(app_id), user_id)

    # ---- sockets --------------------------------------------------------------------------

    def sockets(self, user_id: str, app_id: str | None = None) -> list[Session]:
        """The user's open sockets, oldest first."""
        return self._state.sockets.of_user(self._state.resolve_app_id(app_id), user_id)

    def socket_count(self, user_id: str, app_id: str | None = None) -> int:
        """How many open sockets the user holds."""
        return self._state.sockets.count(self._state.resolve_app_id(app_id), user_id)

    async def wait_socket_count(self, user_id: str, n: int, app_id: str | None = None) -> None:
        """Wait (event-driven) until the user holds exactly ``n`` open sockets."""
        await self._state.sockets.wait_count(self._state.resolve_app_id(app_id), user_id, n)

    async def drop_sockets(
        self,
        user_id: str,
        app_id: str | None = None,
        *,
        code: int | None = 1011,
        reason: str = "",
    ) -> int:
        """Close every socket of the user and return how many.

        With a ``code``: flush queued frames, send a close frame with it, wait for the close
        handshake (bounded). ``code=None``: abrupt drop, the TCP connection is reset with no
        close frame. Returns once the sockets finished (close hooks ran).
        """
        sessions = self.sockets(user_id, app_id)
        for session in sessions:
            if code is None:
                session.abort()
            else:
                session.close(code, reason)
        await _wait_finished(sessions)
        return len(sessions)

    def stall_sockets(self, user_id: str, app_id: str | None = None) -> int:
        """Stall every socket of the user (TCP stays open, nothing sent or processed)."""
        sessions = self.sockets(user_id, app_id)
        for session in sessions:
            session.stall()
        return len(sessions)

    def unstall_sockets(self, user_id: str, app_id: str | None = None) -> int:
        """Resume the user's stalled sockets."""
        sessions = self.sockets(user_id, app_id)
        for session in sessions:
            session.unstall()
        return len(sessions)

    async def close_all(self, code: int = 1001, reason: str = "Engine going away") -> int:
        """Close every open socket of every project with ``code``; returns how many."""
        sessions = self._state.sockets.all()
        for session in sessions:
            session.close(code, reason)
        await _wait_finished(sessions)
        return len(sessions)

    # ---- mints ----------------------------------------------------------------------------

    def fail_next_mints(
        self,
        n: int,
        status: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        code: str | None = None,
    ) -> None:
        """Make the next ``n`` mint requests (any identity) fail with ``status``.

        Body ``{"message", "code"?}``; ``retry_after`` adds a ``Retry-After`` header (integer
        seconds, rounded up). Injected failures come before every other check.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        failure = MintFailure(status, message or default_failure_message(status), code, retry_after)
        self._state.mint_failures.extend([failure] * n)

    def mint_count(self, user_id: str | None = None, app_id: str | None = None) -> int:
        """Successful mints of a user (``None``: of everyone in every project)."""
        if user_id is None:
            return self._state.stats.mints
        return self._state.mint_counts[(self._state.resolve_app_id(app_id), user_id)]

    # ---- devices --------------------------------------------------------------------------

    def push_tokens(self, user_id: str, app_id: str | None = None) -> dict[str, PushRegistration]:
        """The push tokens a user holds, by token, in registration order."""
        return self._state.domain(PushTokenStore).tokens_of(
            self._state.resolve_app_id(app_id), user_id
        )

    # ---- time and counters ----------------------------------------------------------------

    def advance_wall_clock(self, seconds: float) -> None:
        """Move the engine's wall clock (``server_time``, ``created_at``...) by ``seconds``."""
        self._state.clock.advance(seconds)

    @property
    def stats(self) -> EngineStats:
        """Live counters: frames received, invalid and oversize frames, mints, sockets."""
        return self._state.stats
