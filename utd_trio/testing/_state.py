"""The engine's in-memory state, shared by the core and the domain modules."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, TypeVarTuple, Unpack

import anyio

from ._clock import WallClock
from ._errors import EngineError, Gate, gate_error
from ._project import ProjectConfig
from ._registry import Registry
from ._session import DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_FRAMES, Session
from ._tokens import TokenStore

__all__ = [
    "DEFAULT_UPLOAD_QUOTA",
    "EngineSettings",
    "EngineState",
    "EngineStats",
    "MintFailure",
    "SocketTable",
    "UserProfile",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

UserKey = tuple[str, str]
"""``(app_id, user_id)``: user identities are per project."""


DEFAULT_UPLOAD_QUOTA = 100 * 1024 * 1024
"""Default bytes of uploaded media each user may store (100 MiB)."""


@dataclass(frozen=True)
class EngineSettings:
    """Engine timers and the mint rate limit (see ``EngineControl.configure``)."""

    heartbeat_interval: float = 25.0
    ring_timeout: float = 30.0
    token_ttl: float = 3600.0
    mint_rate_limit: int | None = 120
    outbox_max_frames: int = DEFAULT_OUTBOX_MAX_FRAMES
    """Frames queued to one socket beyond which it is closed with 4100 (see ``_session.py``)."""
    outbox_max_bytes: int = DEFAULT_OUTBOX_MAX_BYTES
    """UTF-8 bytes queued to one socket beyond which it is closed with 4100."""
    upload_quota: int | None = DEFAULT_UPLOAD_QUOTA
    """Bytes of uploaded media each user may store (``None`` = unlimited); see ``_media.py``."""

    def __post_init__(self) -> None:
        for name in ("outbox_max_frames", "outbox_max_bytes", "upload_quota"):
            value: object = getattr(self, name)
            if value is None and name == "upload_quota":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass
class EngineStats:
    """Counters for tests (totals over all projects)."""

    frames_received: int = 0
    """Inbound WebSocket frames processed (valid or not, oversize included)."""
    invalid_frames: int = 0
    """Frames answered with an ``invalid_frame`` error."""
    oversize_frames: int = 0
    """Frames over 1 MiB, dropped without reply."""
    mint_requests: int = 0
    """``POST /api/v1/auth/session`` requests, whatever their outcome."""
    mints: int = 0
    """Successful mints."""
    sockets_opened: int = 0
    """WebSockets that got ``connection.established``."""
    frames_sent: int = 0
    """Outbound WebSocket text frames written to sockets."""

    def count_frame_sent(self) -> None:
        """Count one outbound frame (called by every registered socket's writer)."""
        self.frames_sent += 1


@dataclass(frozen=True)
class UserProfile:
    """The optional device/profile fields of the last successful mint of a user."""

    name: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_model: str | None = None
    app_version: str | None = None


@dataclass(frozen=True)
class MintFailure:
    """An injected mint failure (see ``Engine.fail_next_mints``)."""

    status: int
    message: str
    code: str | None = None
    retry_after: float | None = None


class SocketTable:
    """Open sockets by user, with change notification for event-driven waits."""

    def __init__(self, stats: EngineStats | None = None) -> None:
        self._by_user: dict[UserKey, dict[str, Session]] = {}
        self._changed = anyio.Event()
        self._stats = stats

    def add(self, session: Session) -> None:
        """Register an accepted socket (its outbound frames count in the engine's stats)."""
        if self._stats is not None:
            session.on_frame_sent = self._stats.count_frame_sent
        self._by_user.setdefault((session.app_id, session.user_id), {})[session.socket_id] = session
        self._notify()

    def discard(self, session: Session) -> None:
        """Forget a socket (idempotent)."""
        key = (session.app_id, session.user_id)
        sockets = self._by_user.get(key)
        if sockets is not None and sockets.pop(session.socket_id, None) is not None:
            if not sockets:
                del self._by_user[key]
            self._notify()

    def of_user(self, app_id: str, user_id: str) -> list[Session]:
        """Open sockets of one user, oldest first."""
        return list(self._by_user.get((app_id, user_id), {}).values())

    def of_project(self, app_id: str) -> list[Session]:
        """Open sockets of every user of a project."""
        return [
            s for (app, _), socks in self._by_user.items() if app == app_id for s in socks.values()
        ]

    def all(self) -> list[Session]:
        """Every open socket."""
        return [s for socks in self._by_user.values() for s in socks.values()]

    def matching(self, app_id: str | None, user_id: str | None) -> list[Session]:
        """Open sockets whose project and user match; ``None`` matches any."""
        return [
            s
            for (app, user), socks in self._by_user.items()
            if (app_id is None or app == app_id) and (user_id is None or user == user_id)
            for s in socks.values()
        ]

    def online_users(self) -> int:
        """How many ``(app_id, user_id)`` hold at least one socket."""
        return len(self._by_user)

    def count(self, app_id: str, user_id: str) -> int:
        """How many sockets a user holds."""
        return len(self._by_user.get((app_id, user_id), {}))

    def users(self, app_id: str) -> list[str]:
        """Users of a project holding at least one socket."""
        return [user for (app, user) in self._by_user if app == app_id]

    async def wait_count(self, app_id: str, user_id: str, n: int) -> None:
        """Return once the user holds exactly ``n`` sockets (no polling)."""
        while True:
            changed = self._changed
            if self.count(app_id, user_id) == n:
                return
            await changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


class EngineState:
    """Everything one engine knows. Domain modules receive it in every handler and hook."""

    def __init__(
        self,
        projects: Iterable[ProjectConfig],
        *,
        settings: EngineSettings,
        clock: WallClock,
        registry: Registry,
    ) -> None:
        self.settings: EngineSettings = settings
        """Tunables (heartbeat, ring timeout, token TTL, mint rate limit); replaced whole when
        changed live, read by sockets, calls and mints made after the change."""
        self.clock: WallClock = clock
        """The wall clock for wire timestamps."""
        self.registry: Registry = registry
        """Handlers, routes and hooks."""
        self.tokens = TokenStore()
        """Minted tokens."""
        self.stats = EngineStats()
        """Counters."""
        self.sockets = SocketTable(self.stats)
        """Open sockets."""
        self.projects: dict[str, ProjectConfig] = {}
        """Projects by app id (replaced on live plan changes)."""
        self.banned: set[UserKey] = set()
        """Banned ``(app_id, user_id)``."""
        self.profiles: dict[UserKey, UserProfile] = {}
        """Profile fields of each user's last mint (e.g. ``name`` for ``from_name``)."""
        self.mint_counts: Counter[UserKey] = Counter()
        """Successful mints per user."""
        self.mint_failures: deque[MintFailure] = deque()
        """Injected failures for the next mints."""
        self.mint_windows: dict[UserKey, deque[float]] = {}
        """Loop times of recent mints per user (rate limit)."""
        self.base_url = ""
        """``http(s)://host:port`` once the server listens."""
        self.ws_url = ""
        """``ws(s)://host:port/ws`` once the server listens."""
        self._task_group: anyio.abc.TaskGroup | None = None
        self._domains: dict[type[Any], Any] = {}
        for project in projects:
            self.add_project(project)
        if not self.projects:
            raise ValueError("the engine needs at least one project")
        self.default_app_id: str = next(iter(self.projects))
        """The first project's app id: what ``app_id=None`` means in control methods."""

    # ---- projects, users ------------------------------------------------------------------

    def add_project(self, project: ProjectConfig) -> None:
        """Add a project; its app id must be new."""
        if project.app_id in self.projects:
            raise ValueError(f"project {project.app_id!r} already exists")
        self.projects[project.app_id] = project

    def resolve_app_id(self, app_id: str | None) -> str:
        """``None`` → the default project; unknown ids raise ``KeyError``."""
        app_id = self.default_app_id if app_id is None else app_id
        if app_id not in self.projects:
            raise KeyError(f"unknown project {app_id!r}")
        return app_id

    def project(self, app_id: str | None = None) -> ProjectConfig:
        """Current configuration of a project (``None`` = default project)."""
        return self.projects[self.resolve_app_id(app_id)]

    def is_banned(self, app_id: str, user_id: str) -> bool:
        """Whether the user is banned in that project."""
        return (app_id, user_id) in self.banned

    def check_gate(self, app_id: str, gate: Gate) -> None:
        """Raise 403 ``feature_disabled`` if the project's live plan turned ``gate`` off."""
        project = self.projects.get(app_id)
        if project is None:
            raise EngineError(403, "forbidden", "Project is suspended")
        gate_error(gate, project.signaling_enabled, project.chat_enabled)

    # ---- time -----------------------------------------------------------------------------

    def timestamp(self) -> str:
        """Wall-clock now for the wire: ISO-8601 UTC with milliseconds and ``Z``."""
        return self.clock.timestamp()

    # ---- domain support -------------------------------------------------------------------

    def domain(self, key: type[T]) -> T:
        """Per-engine singleton state of a domain module, created on first use with ``key()``."""
        if key not in self._domains:
            self._domains[key] = key()
        value: T = self._domains[key]
        return value

    def start_soon(
        self, fn: Callable[[Unpack[Ts]], Coroutine[Any, Any, object]], *args: *Ts
    ) -> None:
        """Run a background task (e.g. a ring timer) for the engine's lifetime."""
        if self._task_group is None:
            raise RuntimeError("the engine is not running")
        self._task_group.start_soon(fn, *args)

    def bind_task_group(self, task_group: anyio.abc.TaskGroup) -> None:
        """Engine core: the task group that runs :meth:`start_soon` tasks."""
        self._task_group = task_group
