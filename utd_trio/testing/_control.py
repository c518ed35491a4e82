"""Control handle methods of the engine: projects, plans, bans, faults, observability."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Final

import anyio

from ._aging import age_messages
from ._mint import default_failure_message
from ._project import ProjectConfig, capability_snapshot
from ._push import PushRegistration, PushTokenStore
from ._sentinels import EVERY, KEEP, Every, Keep
from ._session import Session
from ._state import EngineSettings, EngineState, EngineStats, MintFailure

__all__ = ["EVERY", "KEEP", "EngineControl", "Every", "Keep"]

log = logging.getLogger("utd_trio.testing")


_STALL_KEY: Final = "utd_trio.control.stall_until"


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return float(value)


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
        allow_appkey_identity_mint: bool | Keep = KEEP,
    ) -> int:
        """Change a project's plan live.

        Later mints return the new plan, the capability gate uses it at once, and when a flag,
        the limits or the overrides were given every open socket of the project gets
        ``capabilities.updated`` with a full snapshot (mint field names; ``None`` flags and
        ``limits`` omitted). ``allow_appkey_identity_mint`` alone tells no socket (it is mint
        policy, not a capability). Returns how many sockets were told.
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
        tell = bool(changes)
        if not isinstance(allow_appkey_identity_mint, Keep):
            changes["allow_appkey_identity_mint"] = allow_appkey_identity_mint
        project = dataclasses.replace(project, **changes)  # type: ignore[arg-type]
        self._state.projects[key] = project
        snapshot = capability_snapshot(project)
        sessions = self._state.sockets.of_project(key) if tell else []
        for session in sessions:
            session.send("capabilities.updated", dict(snapshot))
        log.info("plan of %s changed; told %d sockets", key, len(sessions))
        await anyio.lowlevel.checkpoint()
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
            session.extras.pop(_STALL_KEY, None)  # no earlier timed stall ends this one
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

    # ---- matching sockets (the control plane's filters) ----------------------------------

    def _app_ids(self, app_id: str | Every | None) -> list[str]:
        if isinstance(app_id, Every):
            return list(self._state.projects)
        return [self._state.resolve_app_id(app_id)]

    def sockets_matching(
        self, app_id: str | Every | None = EVERY, user_id: str | Every = EVERY
    ) -> list[Session]:
        """Open sockets of a project (:data:`EVERY`: any) and a user (:data:`EVERY`: any).

        ``app_id=None`` is the default project, as everywhere; an unknown one raises
        ``KeyError``.
        """
        user = None if isinstance(user_id, Every) else user_id
        return [
            session
            for key in self._app_ids(app_id)
            for session in self._state.sockets.matching(key, user)
        ]

    async def drop_matching(
        self,
        app_id: str | Every | None = EVERY,
        user_id: str | Every = EVERY,
        *,
        code: int | None = None,
        reason: str = "",
    ) -> int:
        """Close the matching sockets with ``code``; ``None`` resets TCP (the client sees 1006).

        Returns how many, once they finished closing.
        """
        sessions = self.sockets_matching(app_id, user_id)
        for session in sessions:
            if code is None:
                session.abort()
            else:
                session.close(code, reason)
        await _wait_finished(sessions)
        return len(sessions)

    def stall_for(
        self, seconds: float, app_id: str | Every | None = EVERY, user_id: str | Every = EVERY
    ) -> int:
        """Stall the matching sockets for ``seconds`` (loop time), then resume them.

        While stalled a socket reads and answers nothing, not even ``ping``; TCP stays open and
        what queued up meanwhile is processed and sent afterwards. Returns how many.
        """
        seconds = _positive("seconds", seconds)
        until = anyio.current_time() + seconds
        sessions = self.sockets_matching(app_id, user_id)
        for session in sessions:
            session.extras[_STALL_KEY] = until
            session.stall()
            self._state.start_soon(_resume_at, session, until)
        return len(sessions)

    async def expire_tokens(
        self,
        app_id: str | Every | None = EVERY,
        user_id: str | Every = EVERY,
        *,
        close: bool = False,
    ) -> tuple[int, int]:
        """Expire the matching users' tokens (REST 401, upgrade refused).

        ``close=True`` also closes their open sockets with 4001. Returns ``(tokens expired,
        sockets closed)``.
        """
        apps = set(self._app_ids(app_id))
        users = [
            (app, user)
            for app, user in list(self._state.mint_counts)
            if app in apps and (isinstance(user_id, Every) or user == user_id)
        ]
        expired = sum(self._state.tokens.revoke(app, user) for app, user in users)
        closed = 0
        if close:
            closed = await self.drop_matching(app_id, user_id, code=4001, reason="Token expired")
        return expired, closed

    # ---- engine timers and chat storage ---------------------------------------------------

    @property
    def settings(self) -> EngineSettings:
        """The engine timers and mint rate limit in force."""
        return self._state.settings

    def configure(
        self,
        *,
        heartbeat_interval: float | Keep = KEEP,
        ring_timeout: float | Keep = KEEP,
        token_ttl: float | Keep = KEEP,
        mint_rate_limit: int | Keep | None = KEEP,
    ) -> EngineSettings:
        """Change engine timers for sockets, calls and mints made after the change.

        Times are positive seconds; ``mint_rate_limit`` is mints per identity per minute
        (``None`` or 0 = unlimited). Returns the new settings.
        """
        changes: dict[str, object] = {}
        for name, value in (
            ("heartbeat_interval", heartbeat_interval),
            ("ring_timeout", ring_timeout),
            ("token_ttl", token_ttl),
        ):
            if not isinstance(value, Keep):
                changes[name] = _positive(name, value)
        if not isinstance(mint_rate_limit, Keep):
            if mint_rate_limit is not None and (
                isinstance(mint_rate_limit, bool) or mint_rate_limit < 0
            ):
                raise ValueError("mint_rate_limit must be a non-negative integer or None")
            changes["mint_rate_limit"] = mint_rate_limit or None
        self._state.settings = dataclasses.replace(self._state.settings, **changes)  # type: ignore[arg-type]
        return self._state.settings

    def age_messages(
        self,
        days: float,
        app_id: str | Every | None = EVERY,
        conversation_id: str | None = None,
    ) -> int:
        """Move stored messages ``days`` into the past (exercises ``history_days``).

        ``conversation_id=None``: every conversation of the matching projects. Returns how
        many messages moved.
        """
        if isinstance(days, bool) or not math.isfinite(days) or days < 0:
            raise ValueError("days must be a non-negative number")
        return age_messages(self._state, self._app_ids(app_id), conversation_id, days)

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

    def counters(self) -> dict[str, int]:
        """The contract §12 counters: the answer of ``GET /_control/stats``."""
        stats = self._state.stats
        return {
            "sockets": len(self._state.sockets.all()),
            "users_online": self._state.sockets.online_users(),
            "mints": stats.mints,
            "mints_failed": stats.mint_requests - stats.mints,
            "sockets_opened": stats.sockets_opened,
            "frames_in": stats.frames_received,
            "frames_out": stats.frames_sent,
            "frames_dropped": stats.oversize_frames,
            "frames_invalid": stats.invalid_frames,
        }


async def _resume_at(session: Session, until: float) -> None:
    await anyio.sleep_until(until)
    if session.extras.get(_STALL_KEY) == until:
        del session.extras[_STALL_KEY]
        session.unstall()
