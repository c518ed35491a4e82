"""The demo's cast: simulated users whose events are logged and can be waited for.

A `DemoUser` records every event of its session (and logs it). Steps take a `mark()` before
acting and then `expect()` the events the action must cause, so nothing can be missed between
acting and waiting. `Stage` owns the engine handle, the users and what the current step waits
for (so a timeout names it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio

from .. import Signaling, open_signaling
from .._errors import UTDStreamError
from .._events import Event
from .._models import Attachment
from ._demo_log import DemoLog
from ._format import describe_capabilities

if TYPE_CHECKING:
    from utd_trio.testing import Engine

__all__ = ["DemoUser", "Stage", "StepFailed"]

E = TypeVar("E", bound=Event)


class StepFailed(Exception):
    """A step saw something other than the expected outcome."""


def _always(_: Any) -> bool:
    return True


class DemoUser:
    """One simulated user: a live session and the history of its events."""

    def __init__(self, sig: Signaling, stage: Stage) -> None:
        self.sig = sig
        self.name = sig.user_id
        self._stage = stage
        self.history: list[Event] = []
        self._changed = trio.Event()
        self._scope = trio.CancelScope()
        self._finished = trio.Event()

    def mark(self) -> int:
        """A position in the history: `expect` looks only at events after it."""
        return len(self.history)

    def _record(self, event: Event) -> None:
        self.history.append(event)
        self._stage.log.event(self.name, event)
        self._changed.set()
        self._changed = trio.Event()

    async def expect(
        self, kind: type[E], where: Callable[[E], bool] = _always, *, since: int, what: str
    ) -> E:
        """The first ``kind`` event after ``since`` that satisfies ``where`` (waits for it).

        ``what`` describes the expectation for the timeout message.
        """
        self._stage.waiting = f"{self.name}: {what}"
        index = since
        while True:
            while index < len(self.history):
                event = self.history[index]
                index += 1
                if isinstance(event, kind) and where(event):
                    self._stage.waiting = None
                    return event
            await self._changed.wait()

    def received(self, kind: type[E], *, since: int) -> list[E]:
        """Every ``kind`` event after ``since`` seen so far."""
        return [event for event in self.history[since:] if isinstance(event, kind)]

    async def close(self) -> None:
        """Leave: close the session (the socket closes with 1000) and wait until it is gone."""
        self._scope.cancel()
        await self._finished.wait()


class Stage:
    """The engine, the connected users and the expectation currently waited for.

    Each user's session lives in a task of the stage's nursery (not in the step that
    connected it), so sessions outlive steps and their timeouts.
    """

    def __init__(self, engine: Engine, log: DemoLog, nursery: trio.Nursery) -> None:
        self.engine = engine
        self.log = log
        self.users: dict[str, DemoUser] = {}
        self.waiting: str | None = None
        self.groups: dict[str, str] = {}
        """Group ids by name, for later steps."""
        self.attachments: dict[str, Attachment] = {}
        """Uploaded attachments by file name, for later steps."""
        self._nursery = nursery

    def __getitem__(self, name: str) -> DemoUser:
        return self.users[name]

    async def connect(self, name: str) -> DemoUser:
        """Open a session for ``name`` on the engine's default project and record it."""
        self.waiting = f"{name}: the first connection"
        user: DemoUser = await self._nursery.start(self._host, name)
        self.waiting = None
        self.users[name] = user
        return user

    async def _host(self, name: str, *, task_status: trio.TaskStatus[DemoUser]) -> None:
        project = self.engine.default_project
        user: DemoUser | None = None
        try:
            async with open_signaling(
                app_id=project.app_id,
                app_key=project.app_key,
                user_id=name,
                name=name.capitalize(),
                base_url=self.engine.base_url,
                connect_timeout=5.0,
                backoff_base=0.05,
            ) as sig:
                user = DemoUser(sig, self)
                caps = sig.capabilities
                self.log.note(name, f"connected: {describe_capabilities(caps)}", capabilities=caps)
                with user._scope:  # pyright: ignore[reportPrivateUsage]
                    async with sig.events(overflow="block") as stream:
                        task_status.started(user)
                        async for event in stream:
                            user._record(event)  # pyright: ignore[reportPrivateUsage]
        except UTDStreamError as error:
            if user is None:
                raise
            self.log.note(name, f"session ended: {error}", error=str(error))
        finally:
            if user is not None:
                user._finished.set()  # pyright: ignore[reportPrivateUsage]
