"""The connection supervisor: mint → connect → run → classify the end → back off → again.

Each connection generation gets a fresh task group (inside `open_signal_client`: the receive
loop, the domain hooks and what they start), so nothing a generation started can outlive it.
Terminal errors end the loop by raising; everything else reconnects, without limit, until the
session is closed.
"""

from __future__ import annotations

import logging
import random
from functools import partial

import anyio
import anyio.abc

from .._errors import ErrorCode, UTDStreamError
from .._models import Session
from .._protocol import _vocab as v
from .._protocol._session_machine import Stop
from .._transport._client import CloseInfo, SignalClient
from .._transport._connect import open_signal_client
from ._core import ConnectHook, SessionCore
from ._spawn import generation_spawn

log = logging.getLogger("utd_trio.supervisor")


def _with_mint_hint(exc: UTDStreamError, core: SessionCore) -> UTDStreamError:
    """An app-key mint's 401 / 404, saying what to check (never quoting a credential)."""
    unknown_route = exc.code is ErrorCode.NOT_FOUND or exc.status == 501
    if core.has_provider or not (exc.code is ErrorCode.UNAUTHORIZED or unknown_route):
        return exc
    url = core.api.base_url + v.PATH_MINT
    check = (
        "check app_id and app_key"
        if exc.code is ErrorCode.UNAUTHORIZED
        else "is base_url the engine's REST root?"
    )
    return UTDStreamError(
        exc.code,
        f"POST {url} answered {exc.status}: {exc.message}; {check}",
        status=exc.status,
        wire_code=exc.wire_code,
    )


class Supervisor:
    """Runs the reconnect loop of one `SessionCore`."""

    def __init__(self, core: SessionCore, rng: random.Random | None = None) -> None:
        self._core = core
        self._rng = rng

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Supervise until cancelled; call ``task_status.started()`` once first connected.

        Every decision (reconnect now, after how long, or stop with which error) is the
        sans-IO `SessionMachine`'s; this loop mints, connects, publishes and sleeps.

        Raises:
            UTDStreamError: a terminal error (banned, identity mint disabled, 4003), or —
                before the first connection — bad credentials or no connection within
                ``connect_timeout``.
        """
        core = self._core
        machine = core.machine
        machine.start(anyio.current_time(), self._rng)
        while True:
            try:
                info = await self._one_generation(task_status)
                plan = machine.connection_closed(info, anyio.current_time())
            except UTDStreamError as exc:
                plan = machine.connect_failed(exc, anyio.current_time())
            if isinstance(plan, Stop):
                raise await self._ask_if_banned(plan.error) from None
            lost = plan.disconnected
            log.info(
                "disconnected (%s, %s); retrying in %.2f s", lost.code, lost.reason, plan.delay
            )
            core.on_disconnected(lost)
            await anyio.sleep(plan.delay)

    async def _ask_if_banned(self, error: UTDStreamError) -> UTDStreamError:
        """A 4003 that does not say why: one mint tells whether the user is banned.

        The contract allows a bare 4003 for a ban, so the close frame alone cannot tell a ban
        from another refusal. The engine's mint answers 403 ``banned`` for a banned identity;
        any other outcome (a session, another error, no answer in ``request_timeout``)
        leaves the error as it was (FORBIDDEN).
        """
        if error.code is not ErrorCode.FORBIDDEN or error.status != v.CLOSE_FORBIDDEN:
            return error
        core = self._core
        with anyio.move_on_after(core.settings.request_timeout):
            try:
                await core.fetch_session()
            except UTDStreamError as exc:
                if exc.is_banned:
                    return UTDStreamError(
                        ErrorCode.BANNED,
                        f"the engine closed the socket with 4003; a session mint says: "
                        f"{exc.message}",
                        status=error.status,
                        wire_code=exc.wire_code,
                    )
            except Exception as exc:  # the user's provider failing: no better answer
                log.debug("ban check after a bare 4003 failed: %r", exc)
        return error

    async def _one_generation(self, task_status: anyio.abc.TaskStatus[None]) -> CloseInfo:
        """One connection, from the mint to its close.

        Until the first connection is up, its ``connect_timeout`` deadline bounds the mint
        and the socket's opening too, so a mint that never answers cannot hold it past that.
        """
        core = self._core
        deadline = core.machine.first_deadline
        s = core.settings
        left = float("inf") if deadline is None else max(deadline - anyio.current_time(), 0.0)
        mint_limit = min(s.request_timeout, left)
        session: Session | None = None
        with anyio.move_on_after(mint_limit):
            try:
                session = await core.fetch_session()
            except UTDStreamError as exc:
                raise _with_mint_hint(exc, core) from None
        if session is None:
            source = "session_provider" if core.has_provider else f"mint at {core.api.base_url}"
            raise UTDStreamError(
                ErrorCode.TIMEOUT, f"no session within {mint_limit:g} s (the {source} hangs)"
            )
        core.api.bind_session(session, refresh=core.fetch_session)
        left = float("inf") if deadline is None else deadline - anyio.current_time()
        if left <= 0:  # a provider that ignored cancellation answered past the deadline
            raise UTDStreamError(
                ErrorCode.TIMEOUT,
                f"no connection within {s.connect_timeout:g} s (the mint used it)",
            )
        async with open_signal_client(
            session,
            on_frame=core.ingest,
            ssl_context=s.ssl_context,
            allow_insecure=s.allow_insecure,
            connect_timeout=min(s.connect_timeout, left),
            request_timeout=s.request_timeout,
            heartbeat_timeout=s.heartbeat_timeout,
            close_timeout=s.close_timeout,
            stats=core.stats,
        ) as client:
            core.on_established(client, session)
            if deadline is not None:  # the first connection
                task_status.started()
            # The hooks, and whatever they start later, are the connection's own tasks: they
            # end with it. Each hook task copies the context now: `generation_spawner` is
            # the connection's.
            token = generation_spawn.set(client.start_soon)
            try:
                for hook in core.connect_hooks:
                    client.start_soon(partial(_guarded, hook, client, core.generation))
            finally:
                generation_spawn.reset(token)
            info = await client.wait_closed()
        return info


async def _guarded(hook: ConnectHook, client: SignalClient, generation: int) -> None:
    """Run a domain's connect hook; its failure is logged, never fatal to the session."""
    try:
        await hook(client, generation)
    except UTDStreamError as exc:
        log.warning("connect hook %s failed: %s", getattr(hook, "__qualname__", hook), exc)
    except Exception:
        log.exception("connect hook %s crashed", getattr(hook, "__qualname__", hook))
