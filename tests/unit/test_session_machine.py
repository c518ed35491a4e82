"""`SessionMachine` paired with a scripted engine in memory: no sockets, no clock, no tasks.

The engine below is a few lines of script (mint, hello, close, ban, flip a flag, refuse a
mint); it spells the wire names of the contract itself. Each test drives the client's
lifecycle machine through a connect → drop → reconnect story and checks what it says to do,
what it publishes and the state at every step (protocol §5 close codes, §7 capabilities,
§8 reconnects).
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from utd_trio import (
    Banned,
    Capabilities,
    CapabilitiesChanged,
    Connected,
    ConnectionFailed,
    ConnectionState,
    Disconnected,
    ErrorCode,
    Forbidden,
    IdentityMintDisabled,
    InvalidRequest,
    NotFound,
    ProtocolError,
    ServerError,
    Unauthorized,
    UTDStreamError,
)
from utd_trio._errors import UnfixableTransportError
from utd_trio._models import Session
from utd_trio._protocol._connection import CloseInfo, Hello
from utd_trio._protocol._session_machine import Reconnect, SessionMachine, Stop

BASE = 0.5
CONNECT_TIMEOUT = 20.0

CONNECTING = ConnectionState.CONNECTING
CONNECTED = ConnectionState.CONNECTED
RECONNECTING = ConnectionState.RECONNECTING
CLOSED = ConnectionState.CLOSED


class Ceiling(random.Random):
    """Jitter that always draws its ceiling, so every delay of the schedule is exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


class ScriptedEngine:
    """The engine's side of the lifecycle, scripted: what the client's shell would receive."""

    def __init__(self) -> None:
        self.signaling = True
        self.chat = True
        self.sockets = 0

    def flags(self) -> dict[str, Any]:
        return {"signaling_enabled": self.signaling, "messaging_enabled": self.chat}

    def mint(self) -> Session:
        return Session(
            user_token="tok",
            ws_url="ws://127.0.0.1:1/ws",
            signaling_enabled=self.signaling,
            chat_enabled=self.chat,
        )

    def hello(self) -> Hello:
        self.sockets += 1
        return Hello(f"sock-{self.sockets}", "bob", 25.0, None)

    def close(self, code: int | None, reason: str = "bye") -> CloseInfo:
        return CloseInfo(code, reason)

    def ban(self) -> CloseInfo:
        return CloseInfo(4003, "user is banned")

    def flip_chat(self) -> dict[str, Any]:
        """Turn chat off (or on): the ``capabilities.updated`` frame's data."""
        self.chat = not self.chat
        return self.flags()

    def refuse(self, code: ErrorCode, status: int | None, message: str = "no") -> UTDStreamError:
        """A mint or a socket refused the way the client's classifier reports it."""
        return UTDStreamError(code, message, status=status)


def machine(*, now: float = 0.0) -> SessionMachine:
    m = SessionMachine(backoff_base=BASE, backoff_cap=30.0, connect_timeout=CONNECT_TIMEOUT)
    m.start(now, Ceiling())
    return m


def connect(m: SessionMachine, engine: ScriptedEngine) -> list[Any]:
    return m.established(engine.mint(), engine.hello())


def connected() -> tuple[SessionMachine, ScriptedEngine]:
    m, engine = machine(), ScriptedEngine()
    assert connect(m, engine) == []
    return m, engine


def again(plan: Reconnect | Stop) -> Reconnect:
    assert isinstance(plan, Reconnect), plan
    return plan


def stop(plan: Reconnect | Stop) -> UTDStreamError:
    assert isinstance(plan, Stop), plan
    return plan.error


# --- the close-code table (§5) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "delay"),
    [
        (1000, BASE),  # ends nothing: backs off from the base
        (1001, BASE),  # going away: at once (within the base)
        (4008, BASE),  # heartbeat timeout: at once
        (4001, BASE),  # token invalid: re-mint at once
        (4029, 5.0),  # rate limited: at least 5 s
        (1006, BASE),  # abnormal: backoff, attempt 0
        (1011, BASE),  # internal error: backoff
        (None, BASE),  # died without a close frame: backoff
        (4500, BASE),  # unknown application code: backoff
    ],
)
def test_every_retried_close_code_reconnects_and_says_so(code: int | None, delay: float) -> None:
    m, engine = connected()
    plan = again(m.connection_closed(engine.close(code, "why"), 1.0))
    assert plan.delay == delay
    assert plan.disconnected == Disconnected(code, "why", will_retry=True, retry_in=delay)
    assert m.last_disconnect == plan.disconnected
    assert m.state(alive=True) is RECONNECTING


def test_backoff_grows_on_repeated_failures_and_at_once_codes_do_not_count() -> None:
    m, engine = connected()
    assert again(m.connection_closed(engine.close(1006), 0.0)).delay == BASE
    network = engine.refuse(ErrorCode.NETWORK, None)
    assert again(m.connect_failed(network, 0.0)).delay == 1.0
    assert again(m.connect_failed(network, 0.0)).delay == 2.0
    connect(m, engine)  # a connection resets the schedule
    assert again(m.connection_closed(engine.close(1006), 0.0)).delay == BASE
    assert again(m.connect_failed(network, 0.0)).delay == 1.0


def test_a_second_token_rejection_in_a_row_backs_off() -> None:
    m, engine = connected()
    network = engine.refuse(ErrorCode.NETWORK, None)
    assert again(m.connection_closed(engine.close(1006), 0.0)).delay == BASE  # attempt 1 next
    assert again(m.connect_failed(network, 0.0)).delay == 1.0  # attempt 2 next
    unauthorized = engine.refuse(ErrorCode.UNAUTHORIZED, 4001)
    assert again(m.connect_failed(unauthorized, 0.0)).delay == BASE  # re-mint at once
    assert again(m.connect_failed(unauthorized, 0.0)).delay == 2.0  # in a row: backoff
    assert again(m.connect_failed(network, 0.0)).delay == 4.0


def test_a_4001_close_then_a_401_mint_backs_off() -> None:
    m, engine = connected()
    assert again(m.connection_closed(engine.close(4001), 0.0)).delay == BASE
    refused = engine.refuse(ErrorCode.UNAUTHORIZED, 401)
    plan = again(m.connect_failed(refused, 0.0))
    assert plan.disconnected == Disconnected(401, str(refused), True, BASE)


def test_a_ban_stops_with_banned() -> None:
    m, engine = connected()
    error = stop(m.connection_closed(engine.ban(), 0.0))
    assert isinstance(error, Banned)
    assert (error.code, error.status) == (ErrorCode.BANNED, 4003)
    assert m.last_disconnect is None  # the shell asks about it, then finalizes


def test_a_bare_4003_stops_with_forbidden_for_the_shell_to_check() -> None:
    m, engine = connected()
    error = stop(m.connection_closed(engine.close(4003, ""), 0.0))
    assert isinstance(error, Forbidden)
    assert not isinstance(error, Banned)
    assert (error.code, error.status) == (ErrorCode.FORBIDDEN, 4003)
    assert m.state(alive=True) is RECONNECTING


@pytest.mark.parametrize(
    ("code", "status", "family"),
    [
        (ErrorCode.BANNED, 403, Banned),
        (ErrorCode.IDENTITY_MINT_DISABLED, 403, IdentityMintDisabled),
        (ErrorCode.FORBIDDEN, 4003, Forbidden),
    ],
)
def test_terminal_mint_errors_stop_on_every_connection(
    code: ErrorCode, status: int, family: type[UTDStreamError]
) -> None:
    m, engine = connected()
    assert isinstance(stop(m.connect_failed(engine.refuse(code, status), 0.0)), family)


def test_a_429_mint_waits_its_retry_after_and_a_4029_refusal_at_least_5_s() -> None:
    m, engine = connected()
    limited = UTDStreamError(ErrorCode.RATE_LIMITED, "slow", status=429, retry_after=7.0)
    assert again(m.connect_failed(limited, 0.0)).delay == 7.0
    closed = engine.refuse(ErrorCode.RATE_LIMITED, 4029)
    assert again(m.connect_failed(closed, 0.0)).delay == 5.0


# --- the first connect (§8) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "family"),
    [
        (UTDStreamError(ErrorCode.UNAUTHORIZED, "bad key", status=401), Unauthorized),
        (UTDStreamError(ErrorCode.INVALID, "bad input", status=400), InvalidRequest),
        (UTDStreamError(ErrorCode.PROTOCOL, "not json", status=None), ProtocolError),
        (UTDStreamError(ErrorCode.NOT_FOUND, "no route", status=404), NotFound),
        (UTDStreamError(ErrorCode.SERVER, "no engine", status=501), ServerError),
        (UnfixableTransportError(ErrorCode.NETWORK, "refused"), ConnectionFailed),
    ],
)
def test_the_first_connect_fails_fast_on_what_no_retry_fixes(
    error: UTDStreamError, family: type[UTDStreamError]
) -> None:
    m = machine()
    assert stop(m.connect_failed(error, 0.0)) is error
    assert isinstance(error, family)
    assert m.state(alive=False) is CONNECTING


@pytest.mark.parametrize(
    "error",
    [
        UTDStreamError(ErrorCode.UNAUTHORIZED, "bad key", status=401),
        UTDStreamError(ErrorCode.SERVER, "no engine", status=501),
        UnfixableTransportError(ErrorCode.NETWORK, "refused"),
    ],
)
def test_later_connects_retry_what_the_first_would_not(error: UTDStreamError) -> None:
    m, engine = connected()
    m.connection_closed(engine.close(1006), 0.0)
    assert again(m.connect_failed(error, 0.0)).disconnected.will_retry


def test_the_first_connect_retries_passing_failures_within_its_deadline() -> None:
    m, engine = machine(now=100.0), ScriptedEngine()
    assert m.first_deadline == 100.0 + CONNECT_TIMEOUT
    network = engine.refuse(ErrorCode.NETWORK, None, "connection reset")
    assert again(m.connect_failed(network, 101.0)).delay == BASE
    refused_socket = engine.refuse(ErrorCode.UNAUTHORIZED, 4001)  # a stale token: re-mint
    assert again(m.connect_failed(refused_socket, 102.0)).delay == BASE
    # Delays never run past the deadline.
    assert again(m.connect_failed(network, 119.75)).delay == pytest.approx(0.25)
    assert m.state(alive=False) is CONNECTING
    assert m.generation == 0
    error = stop(m.connect_failed(network, 120.0))
    assert (error.code, error.message) == (
        ErrorCode.NETWORK,
        "no connection within 20 s; last error: connection reset",
    )


def test_the_deadline_ends_with_the_first_connection() -> None:
    m, engine = connected()
    assert m.first_deadline is None
    network = engine.refuse(ErrorCode.NETWORK, None)
    m.connection_closed(engine.close(1006), 0.0)
    assert again(m.connect_failed(network, 10_000.0)).delay == 1.0


def test_the_machine_must_be_started() -> None:
    m = SessionMachine(backoff_base=BASE, backoff_cap=30.0, connect_timeout=CONNECT_TIMEOUT)
    assert m.state(alive=False) is CONNECTING
    with pytest.raises(RuntimeError):
        m.first_deadline  # noqa: B018


# --- published events and states over connect → drop → reconnect -----------------------------


def test_connect_drop_reconnect_publishes_in_order_with_honest_states() -> None:
    m, engine = machine(), ScriptedEngine()
    assert m.state(alive=False) is CONNECTING
    assert m.capabilities_frame(engine.flags()) == []  # before any connection: nothing

    # First connection: nothing published (`open_signaling` returning says it).
    assert connect(m, engine) == []
    assert (m.generation, m.reconnects) == (1, 0)
    assert m.capabilities == Capabilities(True, True, None)
    assert m.state(alive=True) is CONNECTED
    assert m.state(alive=False) is RECONNECTING  # proof of life lost

    # A live capabilities update: published once, only when it changes something.
    old = m.capabilities
    assert m.capabilities_frame(engine.flip_chat()) == [
        CapabilitiesChanged(old, Capabilities(True, False, None))
    ]
    assert m.capabilities_frame(engine.flags()) == []

    # Drop: the `Disconnected` says a retry follows, and when.
    plan = again(m.connection_closed(engine.close(1006, "engine restart"), 5.0))
    assert plan.disconnected == Disconnected(1006, "engine restart", True, BASE)
    assert m.state(alive=True) is RECONNECTING

    # Reconnect with chat back on: `Connected` first, then the change.
    before = m.capabilities
    engine.chat = True
    events = connect(m, engine)
    assert events == [
        Connected(2, True, True, None, socket_id="sock-2"),
        CapabilitiesChanged(before, Capabilities(True, True, None)),
    ]
    assert (m.generation, m.reconnects) == (2, 1)
    assert m.state(alive=True) is CONNECTED

    # Another drop and reconnect with nothing changed: `Connected` only.
    again(m.connection_closed(engine.close(4008), 9.0))
    assert connect(m, engine) == [Connected(3, True, True, None, socket_id="sock-3")]
    assert (m.generation, m.reconnects) == (3, 2)
    assert m.last_disconnect == Disconnected(4008, "bye", True, BASE)


def test_a_failed_reconnect_keeps_reconnecting() -> None:
    m, engine = connected()
    again(m.connection_closed(engine.close(1006), 0.0))
    plan = again(m.connect_failed(engine.refuse(ErrorCode.SERVER, 503, "busy"), 0.0))
    assert plan.disconnected.code == 503
    assert m.state(alive=True) is RECONNECTING
    assert (m.generation, m.reconnects) == (1, 0)


# --- the end of the session -------------------------------------------------------------------


def test_closed_by_the_user_publishes_one_final_disconnect() -> None:
    m, _engine = connected()
    final = Disconnected(1000, "closed by the user", will_retry=False)
    assert m.finish() == [final]
    assert m.state(alive=True) is CLOSED
    assert m.closed_for_good
    assert m.last_disconnect == final
    assert m.finish() == []  # idempotent


def test_a_stop_ends_the_session_with_its_error() -> None:
    m, engine = connected()
    error = stop(m.connection_closed(engine.ban(), 0.0))
    final = Disconnected(error.status, error.message, will_retry=False)
    assert m.finish(error) == [final]
    assert m.state(alive=False) is CLOSED
    assert m.last_disconnect == final
    assert m.finish() == []  # the user's close after it changes nothing
