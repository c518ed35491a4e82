"""The session's sans-IO client core paired with a scripted engine in memory.

In the style of mqttproto's ``tests/test_state_machines.py``: a client state machine and a
server state machine exchange bytes (here: JSON text frames) through explicit queues, with no
socket, no clock and no tasks.

- `ScriptedEngine` is the engine's side of the contract (§4–§8) for one user under test,
  ``"me"``, and scripted peers: it reads request frames (as `ConnectionMachine.request` makes
  them) and writes ``ack`` / ``error`` frames with the request's ``ref``, ``message.new`` with a
  per-conversation strictly increasing ``seq`` (idempotent ``message.send`` on ``client_id``),
  presence subscriptions and updates, ``typing`` relays, receipts and
  ``capabilities.updated``. History and conversation listings are answered REST-style, as the
  model objects the recovery job expects (paged by `tests.unit._chat_model.ModelEngine`).
- `PairedClient` is the real client core — `SessionProtocol`, one `ConnectionMachine` per
  connection, `RequestPlan` and the `RecoveryJob` loop — driven step by step exactly as the
  async shells drive it (`SessionCore.request` / `ingest` / `on_established`, `Supervisor`,
  `SignalClient`, the presence, typing and chat-recovery components, `Ticker`), with every
  ``await`` replaced by a state the test moves on by hand.

Time is a number (`Clock.now`) the test advances with `PairedClient.advance_to`, which fires the
shells' timers (request deadlines, the wait for a connection, pings, the silence check, the
typing ticker, the recovery's retry sleep) in time order. Frames in flight are the `Wire`
queues: a test may serve one request, hold a reply back, deliver frames one by one, or drop
a connection at any point.

Where the async shells leave an order to the scheduler, the harness picks one and says so:
on a new connection the requests waiting for it go out before the connect hooks run (ticker,
presence restore, chat recovery, in the order they are registered); a caller's code after its
``await`` (e.g. the ledger's ``own`` after an acked send) runs right after the reply is taken.
"""

from __future__ import annotations

import json
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from utd_trio._errors import ErrorCode, UTDStreamError
from utd_trio._events import Event, MessageReceived, RecoveryFinished
from utd_trio._models import ChatMessage, PresenceInfo, Session
from utd_trio._protocol import _requests as build
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._classify import close_error
from utd_trio._protocol._codec import Frame, decode_frame, encode_frame
from utd_trio._protocol._connection import CloseInfo, ConnectionMachine, ConnectionStats, Reply
from utd_trio._protocol._parse import WireFormatError, parse_message
from utd_trio._protocol._presence import (
    PresenceMark,
    parse_subscribe_reply,
    subscribe_body,
    unsubscribe_body,
)
from utd_trio._protocol._recovery_job import (
    Answer,
    FetchPage,
    ListConversations,
    RecoveryJob,
    Request,
    retry_delay,
)
from utd_trio._protocol._request_plan import RequestPlan
from utd_trio._protocol._session_machine import Reconnect, Stop
from utd_trio._protocol._session_protocol import SessionProtocol
from utd_trio._protocol._typing_table import chat_target, typing_body
from utd_trio._transport._connect import _hello_from  # pyright: ignore[reportPrivateUsage]

from ._chat_model import ModelEngine

__all__ = [
    "ME",
    "Call",
    "Ceiling",
    "Clock",
    "Link",
    "PairedClient",
    "Recovery",
    "ScriptedEngine",
    "Wire",
    "dm",
    "iso",
]

ME: Final = "me"
EPOCH: Final = datetime(2026, 12, 1, tzinfo=UTC)
HEARTBEAT_INTERVAL: Final = 25.0

Json = dict[str, Any]
OnReply = Callable[[Json | None, UTDStreamError | None], None]


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as the engine writes every time (§5)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dm(a: str, b: str) -> str:
    """The conversation id of a DM (§4: the two identities sorted)."""
    first, second = sorted((a, b))
    return f"dm:{first}:{second}"


class Ceiling(random.Random):
    """Jitter that always draws its ceiling, so every reconnect delay is exact."""

    def uniform(self, a: float, b: float) -> float:
        """The upper bound."""
        return b


@dataclass
class Clock:
    """The one clock of the pair: seconds the test advances by hand."""

    now: float = 0.0

    def wall(self) -> datetime:
        """The engine's wall clock at ``now`` (whole milliseconds, like the wire)."""
        return EPOCH + timedelta(milliseconds=round(self.now * 1000))


# --- the engine ---------------------------------------------------------------------------


@dataclass(eq=False)
class Wire:
    """One socket of ``me``: the frames in flight each way, and the engine's view of it."""

    socket_id: str
    up: deque[str] = field(default_factory=deque[str])
    """Client → engine frames not yet read by the engine."""
    down: deque[str] = field(default_factory=deque[str])
    """Engine → client frames not yet read by the client."""
    open: bool = True
    """The engine's side: False once the socket is gone (nothing more is written to it)."""
    watching: set[str] = field(default_factory=set[str])
    """The users whose presence this socket subscribed to (engine side)."""


class ScriptedEngine:
    """An in-memory engine for one user under test (``me``) and scripted peers.

    Peers have no sockets: they act through the script (`say`, `set_presence`, `typing`, …).
    ``me`` has one `Wire` per connection (`accept`); the engine writes events to every open
    one, and answers a request on the wire it came from (`serve`). Messages are stored in a
    `ModelEngine` (seq, history paging of §4), idempotent on ``(sender, client_id)``.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        groups: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.clock = clock if clock is not None else Clock()
        self.model = ModelEngine()
        """The message store (only its ``stored`` lists and paging are used)."""
        self.groups: dict[str, tuple[str, ...]] = {
            gid: tuple(members)
            for gid, members in (
                groups if groups is not None else {"g1": (ME, "bob", "carol")}
            ).items()
        }
        self.signaling = True
        self.chat = True
        self.banned = False
        self.wires: list[Wire] = []
        self.served: list[tuple[str, Json]] = []
        """Every request the engine read, as ``(event, data)`` (pings included)."""
        self.refusals: dict[str, deque[tuple[int, str, str]]] = {}
        self._presence: dict[str, PresenceInfo] = {}
        self._by_client_id: dict[tuple[str, str], ChatMessage] = {}
        self._wire_of: dict[str, Json] = {}
        self.calls: dict[str, str] = {}
        """Invitations stored, by call id (the callee)."""
        self.accepted: list[str] = []
        """Every ``call.accept`` served (not idempotent: each one counts)."""
        self._messages = 0

    # --- connections ----------------------------------------------------------------------

    def mint(self) -> Session:
        """A session for ``me`` (§2); a banned user's mint is refused with 403 ``banned``."""
        if self.banned:
            raise UTDStreamError(ErrorCode.BANNED, "User is banned", status=403, wire_code="banned")
        return Session(
            user_token="tok",
            ws_url="ws://engine.test/ws",
            signaling_enabled=self.signaling,
            chat_enabled=self.chat,
        )

    def accept(self) -> tuple[Session, Wire, str]:
        """A new socket of ``me``: its session, its wire and the hello frame (§5)."""
        session = self.mint()
        wire = Wire(f"sock-{len(self.wires) + 1}")
        self.wires.append(wire)
        hello = encode_frame(
            v.EV_ESTABLISHED,
            {
                v.HELLO_SOCKET_ID: wire.socket_id,
                v.HELLO_USER_ID: ME,
                v.HELLO_HEARTBEAT_INTERVAL: HEARTBEAT_INTERVAL,
                v.HELLO_SERVER_TIME: iso(self.clock.wall()),
            },
        )
        return session, wire, hello

    def close(self, wire: Wire) -> None:
        """The engine's side of a socket that ended: nothing more is written to it."""
        wire.open = False
        wire.watching.clear()

    def open_wires(self) -> list[Wire]:
        """The sockets of ``me`` still open."""
        return [wire for wire in self.wires if wire.open]

    # --- requests -------------------------------------------------------------------------

    def refuse_next(self, event: str, status: int, code: str, message: str = "no") -> None:
        """Answer the next ``event`` request with an error frame instead of serving it."""
        self.refusals.setdefault(event, deque()).append((status, code, message))

    def serve(self, wire: Wire, *, hold: bool = False) -> str | None:
        """Read the next request on ``wire`` and act on it; return the reply frame.

        The reply is written to ``wire`` unless ``hold`` (the test writes it later, e.g.
        after events the engine made after it: the contract lets a reply be held back).
        None when there was nothing to read or the socket is gone.
        """
        if not wire.open or not wire.up:
            return None
        raw: Json = json.loads(wire.up.popleft())
        event = str(raw.get("event"))
        data: Json = raw.get("data") or {}
        ref = raw.get("ref")
        self.served.append((event, data))
        reply = self._answer(wire, event, data, ref)
        if reply is not None and not hold:
            wire.down.append(reply)
        return reply

    def serve_all(self, wire: Wire) -> None:
        """Read every request in flight on ``wire``."""
        while wire.open and wire.up:
            self.serve(wire)

    def _answer(self, wire: Wire, event: str, data: Json, ref: str | None) -> str | None:
        if event == v.REQ_PING:
            return encode_frame(v.EV_PONG, None, ref)
        refusals = self.refusals.get(event)
        if refusals:
            status, code, message = refusals.popleft()
            return self.error_frame(ref, status, code, message)
        ack: Json
        if event == v.REQ_MESSAGE_SEND:
            message = self.post(
                ME,
                to=data.get(v.FIELD_TO),
                group_id=data.get(v.FIELD_GROUP_ID),
                text=str(data.get(v.FIELD_TEXT)),
                client_id=data.get(v.FIELD_CLIENT_ID),
                via=wire,
            )
            ack = self._wire_of[message.id]
        elif event == v.REQ_PRESENCE_SUBSCRIBE:
            ids = [str(u) for u in data.get(v.FIELD_USER_IDS, [])]
            wire.watching.update(ids)
            ack = {v.PRESENCE_USERS: [self._presence_wire(self.presence(u)) for u in ids]}
        elif event == v.REQ_PRESENCE_UNSUBSCRIBE:
            wire.watching.difference_update(str(u) for u in data.get(v.FIELD_USER_IDS, []))
            ack = {}
        elif event in (v.REQ_TYPING, v.REQ_MESSAGE_DELIVERED, v.REQ_MESSAGE_READ):
            ack = {}  # relayed to peers (no sockets here); never echoed to me (§10)
        elif event == v.REQ_CALL_INVITE:
            call_id = str(data.get(v.FIELD_CALL_ID))
            self.calls.setdefault(call_id, str(data.get(v.FIELD_TO)))  # idempotent (§10)
            ack = {
                v.FIELD_CALL_ID: call_id,
                "status": "ringing",
                "expires_at": iso(self.clock.wall() + timedelta(seconds=30)),
            }
        elif event == v.REQ_CALL_ACCEPT:
            call_id = str(data.get(v.FIELD_CALL_ID))
            self.accepted.append(call_id)
            ack = {v.FIELD_CALL_ID: call_id, "room_name": f"room-{call_id}"}
        else:
            return self.error_frame(ref, 404, "unknown_event", f"unknown event {event}")
        return encode_frame(v.EV_ACK, ack, ref)

    @staticmethod
    def error_frame(ref: str | None, status: int, code: str, message: str) -> str:
        """An ``error`` frame (§5)."""
        return encode_frame(v.EV_ERROR, {"status": status, "code": code, "message": message}, ref)

    # --- messages -------------------------------------------------------------------------

    def post(
        self,
        sender: str,
        *,
        to: str | None = None,
        group_id: str | None = None,
        text: str = "x",
        client_id: str | None = None,
        via: Wire | None = None,
    ) -> ChatMessage:
        """Store a message (idempotent on the sender's ``client_id``) and fan it out.

        ``message.new`` goes to every open socket of ``me`` taking part, except ``via`` (the
        sending socket, §10).
        """
        if client_id is not None:
            known = self._by_client_id.get((sender, client_id))
            if known is not None:
                return known
        if group_id is not None:
            cid = f"group:{group_id}"
            members = self.groups[group_id]
        else:
            assert to is not None
            cid = dm(sender, to)
            members = (sender, to)
        stored = self.model.stored.setdefault(cid, [])
        self._messages += 1
        body: Json = {
            v.FIELD_ID: f"m{self._messages}",
            v.FIELD_CONVERSATION_ID: cid,
            v.FIELD_SEQ: (stored[-1].seq if stored else 0) + 1,
            v.FIELD_FROM: sender,
            v.FIELD_TEXT: text,
            v.FIELD_CREATED_AT: iso(self.clock.wall()),
        }
        if client_id is not None:
            body[v.FIELD_CLIENT_ID] = client_id
        if group_id is not None:
            body[v.FIELD_GROUP_ID] = group_id
        else:
            body[v.FIELD_TO] = to
        message = parse_message(body)
        stored.append(message)
        self._wire_of[message.id] = body
        if client_id is not None:
            self._by_client_id[(sender, client_id)] = message
        if ME in members:
            frame = encode_frame(v.EV_MESSAGE_NEW, body)
            for wire in self.open_wires():
                if wire is not via:
                    wire.down.append(frame)
        return message

    def say(self, sender: str, text: str = "x", *, group_id: str | None = None) -> ChatMessage:
        """Peer ``sender`` writes to ``me`` (or to the group ``group_id``)."""
        if group_id is not None:
            return self.post(sender, group_id=group_id, text=text)
        return self.post(sender, to=ME, text=text)

    def from_other_device(self, to: str, text: str, client_id: str) -> ChatMessage:
        """``me`` writes to ``to`` from another device (its socket is not one of ours)."""
        return self.post(ME, to=to, text=text, client_id=client_id)

    def message_frame(self, message: ChatMessage) -> str:
        """The ``message.new`` frame of a stored message (e.g. to deliver it twice)."""
        return encode_frame(v.EV_MESSAGE_NEW, self._wire_of[message.id])

    def stored(self, cid: str) -> list[ChatMessage]:
        """The messages of a conversation, in seq order."""
        return list(self.model.stored.get(cid, []))

    def answer(self, request: Request) -> Answer:
        """The REST answer to a recovery request, as the model objects (§4 paging)."""
        if isinstance(request, ListConversations):
            return self.model.listing()
        assert isinstance(request, FetchPage)
        return self.model.history(request)

    # --- presence, typing, receipts, capabilities ------------------------------------------

    def presence(self, user_id: str) -> PresenceInfo:
        """The engine's truth about a user (offline since the epoch unless set)."""
        return self._presence.get(user_id, PresenceInfo(user_id, False, EPOCH))

    @staticmethod
    def _presence_wire(info: PresenceInfo) -> Json:
        seen = info.last_seen_at
        return {
            v.FIELD_USER_ID: info.user_id,
            v.FIELD_ONLINE: info.online,
            v.FIELD_LAST_SEEN_AT: None if seen is None else iso(seen),
        }

    def set_presence(self, user_id: str, online: bool) -> PresenceInfo:
        """A user comes online or goes offline: ``presence.update`` to watching sockets."""
        info = PresenceInfo(user_id, online, None if online else self.clock.wall())
        self._presence[user_id] = info
        frame = encode_frame(v.EV_PRESENCE_UPDATE, self._presence_wire(info))
        for wire in self.open_wires():
            if user_id in wire.watching:
                wire.down.append(frame)
        return info

    def typing(self, sender: str, is_typing: bool = True, *, group_id: str | None = None) -> None:
        """Peer ``sender`` types (or stops) in its DM with ``me`` or in a group."""
        cid = dm(sender, ME) if group_id is None else f"group:{group_id}"
        self.emit(
            v.EV_TYPING,
            {v.FIELD_CONVERSATION_ID: cid, v.FIELD_FROM: sender, v.FIELD_IS_TYPING: is_typing},
        )

    def receipt(self, cid: str, user_id: str, up_to_seq: int, status: str = "read") -> None:
        """Peer ``user_id`` marked ``cid`` up to ``up_to_seq``."""
        self.emit(
            v.EV_RECEIPT,
            {
                v.FIELD_CONVERSATION_ID: cid,
                v.FIELD_USER_ID: user_id,
                v.FIELD_STATUS: status,
                v.FIELD_UP_TO_SEQ: up_to_seq,
                v.FIELD_AT: iso(self.clock.wall()),
            },
        )

    def flip(self, *, signaling: bool | None = None, chat: bool | None = None) -> None:
        """The plan changed live: ``capabilities.updated`` (a full snapshot, §10)."""
        if signaling is not None:
            self.signaling = signaling
        if chat is not None:
            self.chat = chat
        self.emit(
            v.EV_CAPABILITIES_UPDATED,
            {v.MINT_SIGNALING_ENABLED: self.signaling, v.MINT_CHAT_ENABLED: self.chat},
        )

    def emit(self, event: str, data: Mapping[str, Any] | None) -> None:
        """Write an event to every open socket of ``me``."""
        self.push(encode_frame(event, data))

    def push(self, text: str) -> None:
        """Write raw text to every open socket of ``me`` (e.g. a malformed frame)."""
        for wire in self.open_wires():
            wire.down.append(text)


# --- the client ---------------------------------------------------------------------------


@dataclass(eq=False)
class Link:
    """One connection of the client: its `ConnectionMachine`, its wire, its waiters."""

    generation: int
    wire: Wire
    machine: ConnectionMachine
    waiters: dict[str, Call] = field(default_factory=dict[str, "Call"])
    """The requests sent on this connection still waiting for their reply, by ref."""

    @property
    def closed(self) -> bool:
        """The client's side has ended (`ConnectionMachine.end`)."""
        return self.machine.close_info is not None


@dataclass(eq=False)
class Call:
    """A request in flight: a session request (with a `RequestPlan`) or a direct one.

    A session request is `SessionCore.request`: it waits for a connection, resends when an
    idempotent attempt's connection died, and has one deadline. A direct request (``plan``
    None) is `SignalClient.request` on one connection, as the connect hooks make them.
    """

    event: str
    data: Json | None
    limit: float
    plan: RequestPlan | None = None
    on_reply: OnReply | None = None
    on_resend: Callable[[], None] | None = None
    then: Callable[[Call], None] | None = None
    """The caller's code after its ``await`` (it may set ``value`` or ``error``)."""
    link: Link | None = None
    ref: str | None = None
    refs: list[str] = field(default_factory=list[str])
    """Every ref the request went out with, in order."""
    expires: float = math.inf
    """When the current attempt times out (the wait for its reply)."""
    attempt_limit: float = 0.0
    done: bool = False
    value: Any = None
    """The ack's data, or what ``then`` made of it (e.g. the `ChatMessage` of a send)."""
    error: UTDStreamError | None = None

    def result(self) -> Any:
        """The value, raising the error (as the caller's ``await`` would)."""
        assert self.done, f"{self.event} has not finished"
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(eq=False)
class Recovery:
    """The chat recovery hook of one connection (`ChatRecovery._recover`), stepped by hand."""

    generation: int
    attempt: int = 0
    job: RecoveryJob | None = None
    """The current attempt's job (None while sleeping before the next one)."""
    request: Request | None = None
    """The REST request the job waits for (answer it with `PairedClient.rest`)."""
    retry_at: float | None = None
    """While sleeping between attempts: when the next one starts."""
    delivered: int = 0
    error: str | None = None
    incomplete: frozenset[str] | None = frozenset()
    done: bool = False


@dataclass(eq=False)
class _Restore:
    """The presence restore hook of one connection: its chunks, sent one after another."""

    link: Link
    chunks: list[tuple[str, ...]]


class PairedClient:
    """The client core of one session, driven by hand against a `ScriptedEngine`.

    Every published event lands in `published` (`take` returns and clears them). Steps:
    `connect`, `connect_refused`, `drop`, `deliver` (one inbound frame), `serve` (the engine
    reads one request), `flush`, `rest` / `rest_fail` (the recovery's pending REST request),
    `advance_to` (time passes; the shells' timers fire), and the domain calls `request`,
    `send_message`, `invite`, `subscribe`, `unsubscribe`, `set_typing`, which return a `Call`.
    """

    def __init__(
        self,
        engine: ScriptedEngine,
        *,
        request_timeout: float = 10.0,
        heartbeat_timeout: float = v.DEFAULT_HEARTBEAT_TIMEOUT,
        backoff_base: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.clock = engine.clock
        self.request_timeout = request_timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.stats = ConnectionStats()
        self.protocol = SessionProtocol(
            backoff_base=backoff_base,
            backoff_cap=30.0,
            connect_timeout=20.0,
            stats=self.stats,
        )
        self.machine = self.protocol.lifecycle
        self.machine.start(self.now, rng if rng is not None else Ceiling())
        self.published: list[Event] = []
        self.link: Link | None = None
        """The live connection (`SessionCore._live`), None while reconnecting."""
        self.links: list[Link] = []
        self.waiting: list[Call] = []
        """Session requests waiting for a connection (`SessionCore._wait_client`)."""
        self.recovery: Recovery | None = None
        self.plan: Reconnect | Stop | None = None
        """The supervisor's last decision after a connection ended or failed."""
        self.stopped: UTDStreamError | None = None
        self.rest_log: list[Request] = []
        """Every recovery REST request answered (by `rest`), in order."""
        self._restore: _Restore | None = None
        self._sends = 0

    # --- reading --------------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The pair's clock."""
        return self.clock.now

    @property
    def wire(self) -> Wire:
        """The live connection's wire."""
        assert self.link is not None, "not connected"
        return self.link.wire

    def take(self) -> list[Event]:
        """The events published since the last `take`, in order."""
        events, self.published = self.published, []
        return events

    def publish(self, event: Event) -> None:
        """`EventHub.publish`."""
        self.published.append(event)

    # --- the supervisor -------------------------------------------------------------------

    def connect(self) -> Link:
        """Mint, open a socket, read the hello and run what a new generation runs.

        As `Supervisor._one_generation` and `SessionCore.on_established`: the protocol takes
        the hello, the connection becomes live, the requests waiting for one go out, then the
        connect hooks run (ticker, presence restore, chat recovery).
        """
        assert self.stopped is None, "the session is over"
        session, wire, hello_text = self.engine.accept()
        self.stats.frames_received += 1
        frame = decode_frame(hello_text)
        assert isinstance(frame, Frame)
        hello = _hello_from(frame)
        machine = ConnectionMachine(
            hello, heartbeat_timeout=self.heartbeat_timeout, now=self.now, stats=self.stats
        )
        events = self.protocol.established(session, hello)
        link = Link(self.machine.generation, wire, machine)
        self.links.append(link)
        self.link = link
        for event in events:
            self.publish(event)
        waiting, self.waiting = self.waiting, []
        for call in waiting:
            self._attempt(call)
        # Connect hooks, in the order the session registers them.
        self._tick()
        self._restore_presence(link)
        self._recover(link.generation)
        return link

    def connect_refused(self, code: int | None, reason: str = "refused") -> Reconnect | Stop:
        """The next socket is closed with ``code`` before its hello (e.g. 4001)."""
        error = close_error(code, f"engine closed the socket before hello: {reason}")
        return self._decide(self.machine.connect_failed(error, self.now))

    def drop(
        self, code: int | None = 1006, reason: str = "abnormal", *, keep_in_flight: bool = False
    ) -> Reconnect | Stop:
        """The live connection ends with ``code``; frames in flight are lost.

        ``keep_in_flight`` leaves the engine's frames on the dead wire, for a test that
        delivers one late (`deliver` with ``link``).
        """
        link = self.link
        assert link is not None, "not connected"
        self.engine.close(link.wire)
        link.wire.up.clear()
        if not keep_in_flight:
            link.wire.down.clear()
        self._end(link, CloseInfo(code, reason))
        return self._lost(link)

    def _end(self, link: Link, info: CloseInfo) -> None:
        """`SignalClient._finish`: every request waiting on ``link`` fails with NETWORK."""
        ended = link.machine.end(info)
        if ended is None:
            return
        refs, error = ended
        # The machine's refs come from a set; the harness fails them in the order they
        # were sent (one of the orders the scheduler may wake their callers in).
        failed = [call for ref, call in link.waiters.items() if ref in set(refs)]
        link.waiters.clear()
        for call in failed:
            self._failed(call, error)

    def _lost(self, link: Link) -> Reconnect | Stop:
        """The supervisor: the generation's hooks end, the machine decides what follows."""
        recovery = self.recovery
        if recovery is not None and recovery.generation == link.generation and not recovery.done:
            self.recovery = None  # cancelled with the connection's task group
        if self._restore is not None and self._restore.link is link:
            self._restore = None
        info = link.machine.close_info
        assert info is not None
        return self._decide(self.machine.connection_closed(info, self.now))

    def _decide(self, plan: Reconnect | Stop) -> Reconnect | Stop:
        self.plan = plan
        if isinstance(plan, Reconnect):
            # SessionCore.on_disconnected
            self.machine.disconnected(plan.disconnected)
            self.link = None
            self.publish(plan.disconnected)
            return plan
        self.finish(self._ask_if_banned(plan.error))
        return plan

    def _ask_if_banned(self, error: UTDStreamError) -> UTDStreamError:
        """`Supervisor._ask_if_banned`: a bare 4003 asks one mint whether it is a ban."""
        if error.code is not ErrorCode.FORBIDDEN or error.status != v.CLOSE_FORBIDDEN:
            return error
        try:
            self.engine.mint()
        except UTDStreamError as exc:
            if exc.is_banned:
                return UTDStreamError(
                    ErrorCode.BANNED,
                    f"the engine closed the socket with 4003; a session mint says: {exc.message}",
                    status=error.status,
                    wire_code=exc.wire_code,
                )
        return error

    def finish(self, error: UTDStreamError | None = None) -> None:
        """`SessionCore.finish`: the session is over; waiters fail with CLOSED."""
        final = self.machine.finish(error)
        if not final:
            return
        self.stopped = error if error is not None else UTDStreamError(ErrorCode.CLOSED, "closed")
        self.link = None
        for event in final:
            self.publish(event)
        waiting, self.waiting = self.waiting, []
        for call in waiting:
            self._attempt(call)

    # --- requests (SessionCore.request, SignalClient.request) ------------------------------

    def request(
        self,
        event: str,
        data: Json | None = None,
        *,
        timeout: float | None = None,
        idempotent: bool = False,
        on_reply: OnReply | None = None,
        on_resend: Callable[[], None] | None = None,
        then: Callable[[Call], None] | None = None,
    ) -> Call:
        """`SessionCore.request`: one deadline, waits for a connection, resends if allowed."""
        limit = self.request_timeout if timeout is None else timeout
        plan = RequestPlan.start(event, self.now, limit, idempotent=idempotent)
        call = Call(event, data, limit, plan, on_reply, on_resend, then)
        self._attempt(call)
        return call

    def direct(
        self,
        link: Link,
        event: str,
        data: Json | None = None,
        *,
        on_reply: OnReply | None = None,
        then: Callable[[Call], None] | None = None,
    ) -> Call:
        """`SignalClient.request` on ``link`` (no wait, no resend), as the hooks make them."""
        call = Call(event, data, self.request_timeout, None, on_reply, None, then)
        self._send_on(link, call, self.request_timeout)
        return call

    def _attempt(self, call: Call) -> None:
        plan = call.plan
        assert plan is not None
        if self.machine.closed_for_good:
            self._done(
                call, error=UTDStreamError(ErrorCode.CLOSED, f"{call.event}: the session is closed")
            )
            return
        link = self.link
        if link is None or link.closed:
            if self.now >= plan.deadline:
                self._not_connected(call)
            else:
                self.waiting.append(call)
            return
        remaining = plan.remaining(self.now)
        if plan.resending and call.on_resend is not None:
            call.on_resend()
        self._send_on(link, call, remaining)

    def _not_connected(self, call: Call) -> None:
        error = UTDStreamError(ErrorCode.TIMEOUT, f"{call.event}: not connected in time")
        self._done(call, error=error)

    def _send_on(self, link: Link, call: Call, limit: float) -> None:
        try:
            ref, text = link.machine.request(call.event, call.data)
        except UTDStreamError as exc:
            self._failed(call, exc)
            return
        link.waiters[ref] = call
        call.link, call.ref, call.attempt_limit = link, ref, limit
        call.refs.append(ref)
        call.expires = self.now + limit
        link.wire.up.append(text)  # `_send`: the connection is open
        link.machine.sent()
        if limit <= 0:  # `Waiter.wait(0)`: the frame went out, the wait is over at once
            self._timed_out(call)

    def _timed_out(self, call: Call) -> None:
        link, ref = call.link, call.ref
        assert link is not None
        assert ref is not None
        link.waiters.pop(ref, None)
        link.machine.forget(ref)
        call.expires = math.inf
        limit = call.attempt_limit
        error = UTDStreamError(ErrorCode.TIMEOUT, f"{call.event}: no reply within {limit:g} s")
        self._failed(call, error)

    def _failed(self, call: Call, error: UTDStreamError) -> None:
        call.expires = math.inf
        plan = call.plan
        if plan is None:
            self._done(call, error=error)
            return
        closed_conn = call.link is None or call.link.closed
        if plan.retry(
            error, connection_closed=closed_conn, session_closed=self.machine.closed_for_good
        ):
            self._attempt(call)
        else:
            self._done(call, error=error)

    def _done(self, call: Call, *, value: Any = None, error: UTDStreamError | None = None) -> None:
        call.done, call.value, call.error = True, value, error
        call.expires = math.inf
        if call.then is not None:
            call.then(call)

    # --- inbound (SignalClient._receive_all, SessionCore.ingest) ---------------------------

    def deliver(self, count: int = 1, *, link: Link | None = None) -> None:
        """The client reads ``count`` frames off ``link``'s wire (default: the live one).

        A closed ``link`` is read too: a test's way to show a frame arriving late.
        """
        link = link if link is not None else self.link
        assert link is not None, "not connected"
        for _ in range(count):
            self._receive(link, link.wire.down.popleft())

    def deliver_all(self, link: Link | None = None) -> None:
        """The client reads every frame in flight on ``link`` (default: the live one)."""
        link = link if link is not None else self.link
        assert link is not None, "not connected"
        while link.wire.down:
            self._receive(link, link.wire.down.popleft())

    def _receive(self, link: Link, text: str) -> None:
        outcome = link.machine.receive(text, self.now)
        if outcome is None:
            return
        if isinstance(outcome, Reply):
            call = link.waiters.pop(outcome.ref, None)
            if call is None:
                return
            if call.on_reply is not None:
                call.on_reply(outcome.data, outcome.error)
            if outcome.error is not None:
                self._failed(call, outcome.error)
            else:
                self._done(call, value=outcome.data or {})
            return
        event = self.protocol.receive(outcome, self.now)
        if event is not None:
            self.publish(event)

    def serve(self, *, hold: bool = False) -> str | None:
        """The engine reads the next request on the live wire (see `ScriptedEngine.serve`)."""
        return self.engine.serve(self.wire, hold=hold)

    def flush(self) -> None:
        """Frames go both ways on the live connection until none is in flight."""
        while self.link is not None and (self.wire.up or self.wire.down):
            self.engine.serve_all(self.wire)
            self.deliver_all()

    def settle(self) -> None:
        """`flush`, answering the recovery's REST requests too, until all is quiet."""
        while True:
            self.flush()
            if self.recovery is None or self.recovery.request is None:
                return
            self.rest()

    # --- time (the shells' timers) ---------------------------------------------------------

    def advance_to(self, until: float) -> None:
        """Time passes to ``until``: the timers due meanwhile fire, in time order."""
        assert until >= self.now
        while True:
            due, fire = self._next_timer()
            if due > until:
                break
            self.clock.now = max(self.now, due)
            fire()
        self.clock.now = until

    def advance(self, seconds: float) -> None:
        """Time passes by ``seconds``."""
        self.advance_to(self.now + seconds)

    def _next_timer(self) -> tuple[float, Callable[[], None]]:
        timers: list[tuple[float, Callable[[], None]]] = []
        for link in self.links:
            for call in list(link.waiters.values()):
                timers.append((call.expires, lambda c=call: self._timed_out(c)))
        for call in self.waiting:
            assert call.plan is not None
            timers.append((call.plan.deadline, lambda c=call: self._wait_over(c)))
        recovery = self.recovery
        if recovery is not None and recovery.retry_at is not None:
            timers.append((recovery.retry_at, lambda r=recovery: self._recovery_attempt(r)))
        link = self.link
        if link is not None and not link.closed:
            timers.append((self.protocol.next_tick(), self._tick))
            timers.append((link.machine.next_ping(), lambda lk=link: self._ping(lk)))
            timers.append((link.machine.dead_at, lambda lk=link: self._silent(lk)))
        return min(timers, key=lambda t: t[0], default=(math.inf, lambda: None))

    def _wait_over(self, call: Call) -> None:
        self.waiting.remove(call)
        self._not_connected(call)

    def _tick(self) -> None:
        """`Ticker._run`: publish the typing states that expired (only while connected)."""
        for event in self.protocol.tick(self.now):
            self.publish(event)

    def _ping(self, link: Link) -> None:
        """`SignalClient._on_beat` (the hub's call) when a ping is due."""
        ping = link.machine.ping(self.now)
        if ping is not None:
            link.wire.up.append(ping)
            link.machine.sent()

    def _silent(self, link: Link) -> None:
        """`SignalClient._on_beat` when the silence deadline passed: the reader kills."""
        reason = link.machine.dead(self.now)
        if reason is None:
            return
        self.engine.close(link.wire)
        link.wire.up.clear()
        self._end(link, CloseInfo(None, reason))
        self._lost(link)

    # --- chat recovery (ChatRecovery._recover, stepped) -------------------------------------

    def _recover(self, generation: int) -> None:
        if generation <= 1:
            return
        recovery = self.recovery = Recovery(generation)
        self._recovery_attempt(recovery)

    def _recovery_attempt(self, recovery: Recovery) -> None:
        recovery.retry_at = None
        job = recovery.job = self.protocol.recovery_job()
        recovery.request = job.start()
        if recovery.request is None:
            self._job_done(recovery)

    def rest(self, answer: Answer | None = None) -> None:
        """The recovery's pending REST request is answered; the job takes the answer.

        ``answer`` defaults to the engine's answer now; a test passes one it took earlier
        (`ScriptedEngine.answer`) to show a slow REST answer that misses newer messages.
        """
        recovery = self.recovery
        assert recovery is not None, "no recovery"
        assert recovery.request is not None, "no REST request"
        job = recovery.job
        assert job is not None
        self.rest_log.append(recovery.request)
        if answer is None:
            answer = self.engine.answer(recovery.request)
        recovery.request = job.send(answer)
        for message in job.drain():
            self.publish(MessageReceived(message, recovered=True))
        if recovery.request is None:
            self._job_done(recovery)

    def rest_fail(self, error: UTDStreamError) -> None:
        """The recovery's pending REST request fails with ``error``."""
        recovery = self.recovery
        assert recovery is not None, "no recovery"
        assert recovery.request is not None, "no REST request"
        job = recovery.job
        assert job is not None
        recovery.request = None
        recovery.error = f"history could not be fetched: {error}"
        recovery.delivered += job.delivered
        recovery.incomplete = job.incomplete
        delay = retry_delay(error, recovery.attempt + 1)
        if delay is not None:
            recovery.attempt += 1
            recovery.job = None
            recovery.retry_at = self.now + delay
            return
        self._recovery_finished(recovery)

    def _job_done(self, recovery: Recovery) -> None:
        job = recovery.job
        assert job is not None
        recovery.error = job.error
        recovery.delivered += job.delivered
        recovery.incomplete = job.incomplete
        self._recovery_finished(recovery)

    def _recovery_finished(self, recovery: Recovery) -> None:
        recovery.done = True
        complete = recovery.error is None
        for event in self.protocol.finish_recovery(recovery.generation, complete=complete):
            self.publish(event)
        self.publish(
            RecoveryFinished(
                recovery.generation,
                complete,
                recovery.delivered,
                recovery.error,
                recovery.incomplete,
            )
        )

    # --- chat -----------------------------------------------------------------------------

    def send_message(
        self,
        *,
        to: str | None = None,
        group_id: str | None = None,
        text: str = "hi",
        client_id: str | None = None,
        timeout: float | None = None,
    ) -> Call:
        """`Chat.send_message` + `ChatRecovery.send_own`: its value is the `ChatMessage`."""
        key, target = chat_target(to, group_id, ME)
        if client_id is None:
            self._sends += 1
            client_id = f"c{self._sends}"
        data = build.message_send(client_id, target, key[1], text)
        ledger = self.protocol.delivery
        ledger.sending(client_id)

        def sent(call: Call) -> None:
            if call.error is not None:
                ledger.abandoned(client_id)
                return
            try:
                message = parse_message(call.value)
            except WireFormatError as exc:
                ledger.abandoned(client_id)
                call.error = UTDStreamError(ErrorCode.PROTOCOL, f"message.send answer: {exc}")
                return
            ledger.own(message)
            call.value = message
            # TypingIndicators.stop_after_send: only on the live connection, best effort.
            if self.protocol.typing.after_send(key) and self.link is not None:
                self.direct(self.link, v.REQ_TYPING, typing_body(key, False))

        return self.request(v.REQ_MESSAGE_SEND, data, timeout=timeout, idempotent=True, then=sent)

    def set_typing(
        self, *, to: str | None = None, group_id: str | None = None, typing: bool = True
    ) -> Call | None:
        """`TypingIndicators.set_typing`: the request, or None when throttled away."""
        key, _ = chat_target(to, group_id, ME)
        data = typing_body(key, typing)
        table = self.protocol.typing
        if not typing:
            return self.request(v.REQ_TYPING, data) if table.stop(key) else None
        now = self.now
        if not table.start(key, now):
            return None

        def sent(call: Call) -> None:
            if call.error is not None:
                table.sent_failed(key, now)

        return self.request(v.REQ_TYPING, data, then=sent)

    # --- calls ----------------------------------------------------------------------------

    def invite(self, to: str, call_id: str) -> Call:
        """`Calls.invite`: idempotent on the client's ``call_id``."""
        data = build.call_invite(to, me=ME, call_id=call_id)
        return self.request(v.REQ_CALL_INVITE, data, idempotent=True)

    def accept_call(self, call_id: str) -> Call:
        """`Calls.accept_call`: not idempotent (never sent twice)."""
        return self.request(v.REQ_CALL_ACCEPT, build.call_accept(call_id))

    # --- presence (Presence component) ----------------------------------------------------

    def subscribe(self, user_ids: Iterable[str]) -> Call:
        """`Presence.subscribe_presence`: value is the snapshot, applied at the ack's place."""
        ids = list(dict.fromkeys(user_ids))
        table = self.protocol.presence
        mark = table.mark(ids)

        def parsed(call: Call) -> None:
            if call.error is None:
                call.value = parse_subscribe_reply(call.value)

        return self.request(
            v.REQ_PRESENCE_SUBSCRIBE,
            subscribe_body(ids),
            idempotent=True,
            on_reply=self._snapshot_taker(mark, restore=False),
            on_resend=lambda: table.resending(mark),
            then=parsed,
        )

    def unsubscribe(self, user_ids: Iterable[str]) -> Call:
        """`Presence.unsubscribe_presence`: forgotten at once, ``left`` at the ack."""
        ids = list(dict.fromkeys(user_ids))
        table = self.protocol.presence
        table.forget(ids)
        return self.request(
            v.REQ_PRESENCE_UNSUBSCRIBE,
            unsubscribe_body(ids),
            idempotent=True,
            on_reply=lambda _data, _error: table.left(ids),
        )

    def _snapshot_taker(self, mark: PresenceMark, *, restore: bool) -> OnReply:
        table = self.protocol.presence

        def take(data: Json | None, error: UTDStreamError | None) -> None:
            if data is None:
                return
            for event in table.apply_snapshot(mark, parse_subscribe_reply(data), restore=restore):
                self.publish(event)

        return take

    def _restore_presence(self, link: Link) -> None:
        """`Presence._restore_presence`: subscribe again, chunk after chunk."""
        if link.generation <= 1:
            return
        restore = self._restore = _Restore(link, self.protocol.presence.restore_chunks())
        self._restore_next(restore)

    def _restore_next(self, restore: _Restore) -> None:
        if self._restore is not restore or not restore.chunks:
            return
        chunk = restore.chunks.pop(0)
        mark = self.protocol.presence.mark(chunk)

        def next_chunk(call: Call) -> None:
            if call.error is None:  # a failure ends the hook (logged by `_guarded`)
                self._restore_next(restore)

        self.direct(
            restore.link,
            v.REQ_PRESENCE_SUBSCRIBE,
            subscribe_body(chunk),
            on_reply=self._snapshot_taker(mark, restore=True),
            then=next_chunk,
        )
