"""A model engine and a driver of the sans-IO chat ledger for model-based tests.

`ModelEngine` stores messages the way the contract says (seq strictly increasing per
conversation, idempotent on ``client_id``, history paging of §4) and keeps one socket of the
user under test ("me") as a FIFO of frames. `Client` is the part of `Signaling` that matters
for delivery — `DeliveryLedger` plus the `RecoveryJob` loop of
`utd_trio._domains._chat_recovery`, with the async I/O replaced by explicit steps — and
records everything it publishes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from utd_trio._models import ChatMessage, Conversation, HistoryPage
from utd_trio._protocol._delivery import DeliveryLedger
from utd_trio._protocol._recovery_job import Answer, FetchPage, ListConversations, RecoveryJob

ME = "me"
OTHER_DEVICE = "me (other device)"  # this user on another socket: its sends reach ours
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
ATTEMPTS = 3  # as utd_trio._domains._chat_recovery.RECOVERY_ATTEMPTS

# Conversation -> the senders who may write in it (besides this socket).
CONVERSATIONS: dict[str, tuple[str, ...]] = {
    "dm:bob:me": ("bob", OTHER_DEVICE),
    "dm:carol:me": ("carol", OTHER_DEVICE),
    "group:g1": ("bob", "carol", OTHER_DEVICE),
    "dm:dave:me": ("dave",),  # starts empty: a conversation first seen after a gap
}


@dataclass(frozen=True, slots=True)
class Ack:
    """The engine's answer to one of this socket's sends."""

    client_id: str
    message: ChatMessage


Frame = ChatMessage | Ack


@dataclass
class ModelEngine:
    """Conversations, a coarse clock (ties happen), and this user's one socket."""

    seq_step: int = 1  # 1: contiguous seqs; more: sparse (strictly increasing only)
    clock: int = 0
    stored: dict[str, list[ChatMessage]] = field(default_factory=dict)
    by_client_id: dict[str, ChatMessage] = field(default_factory=dict)
    socket: deque[Frame] | None = None  # None: this user has no socket
    count: int = 0

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.clock)

    def store(self, cid: str, sender: str, client_id: str | None = None) -> ChatMessage:
        """Store a message (idempotent on ``client_id``) and fan it out to this socket."""
        if client_id is not None and client_id in self.by_client_id:
            return self.by_client_id[client_id]
        messages = self.stored.setdefault(cid, [])
        seq = (messages[-1].seq if messages else 0) + self.seq_step
        self.count += 1
        message = ChatMessage(f"m{self.count}", cid, seq, sender, self.now(), client_id, text="x")
        messages.append(message)
        if client_id is not None:
            self.by_client_id[client_id] = message
        elif self.socket is not None:  # message.new goes to every socket but the sender's
            self.socket.append(message)
        return message

    def listing(self) -> tuple[Conversation, ...]:
        return tuple(
            Conversation(cid, "group" if cid.startswith("group:") else "dm", msgs[-1], 0)
            for cid, msgs in self.stored.items()
            if msgs
        )

    def history(self, request: FetchPage) -> HistoryPage:
        messages = self.stored.get(request.conversation_id, [])
        if request.after is not None:
            newer = [m for m in messages if m.seq > request.after]
            page = newer[: request.limit]
            return HistoryPage(tuple(page), len(newer) > len(page))
        older = [m for m in messages if request.before is None or m.seq < request.before]
        page = older[-request.limit :] if request.limit else []
        return HistoryPage(tuple(page), len(older) > len(page))

    def answer(self, request: ListConversations | FetchPage) -> Answer:
        if isinstance(request, ListConversations):
            return self.listing()
        return self.history(request)


@dataclass
class Client:
    """The session's delivery half: the ledger and the recovery loop, stepped by hand."""

    engine: ModelEngine
    page_size: int
    ledger: DeliveryLedger = field(default_factory=DeliveryLedger)
    generation: int = 0
    started: datetime | None = None  # the first hello's server_time
    published: list[ChatMessage] = field(default_factory=list)
    incomplete: set[str] = field(default_factory=set)  # named by some RecoveryFinished
    finished: list[tuple[bool, frozenset[str] | None]] = field(default_factory=list)
    unacked: dict[str, str] = field(default_factory=dict)  # client_id -> conversation
    own: set[str] = field(default_factory=set)  # ids of messages this session sent
    job: RecoveryJob | None = None
    request: ListConversations | FetchPage | None = None
    answer: Answer | None = None  # computed by the engine, not yet delivered (slow REST)
    attempt: int = 0
    sends: int = 0

    # --- the socket --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.engine.socket is not None

    def connect(self) -> None:
        self.engine.clock += 1
        self.engine.socket = deque()
        self.generation += 1
        hello = self.engine.now()
        if self.started is None:
            self.started = hello
        self.ledger.connected(self.generation, hello)
        for client_id, cid in self.unacked.items():  # idempotent resends
            self._send(cid, client_id)
        if self.generation > 1:
            self.attempt = 0
            self._start_job()

    def drop(self) -> None:
        self.engine.socket = None
        self.job = self.request = self.answer = None  # a recovery cut short

    def send(self, cid: str) -> None:
        self.sends += 1
        client_id = f"c{self.sends}"
        self.unacked[client_id] = cid
        self.ledger.sending(client_id)
        self._send(cid, client_id)

    def _send(self, cid: str, client_id: str) -> None:
        message = self.engine.store(cid, ME, client_id)
        self.own.add(message.id)
        assert self.engine.socket is not None
        self.engine.socket.append(Ack(client_id, message))

    def receive(self) -> None:
        """Take the next frame off the socket."""
        assert self.engine.socket
        frame = self.engine.socket.popleft()
        if isinstance(frame, Ack):
            self.unacked.pop(frame.client_id, None)
            self.ledger.own(frame.message)
        elif self.ledger.live(frame, self.generation):
            self._publish(frame)

    # --- recovery ----------------------------------------------------------------------

    def _start_job(self) -> None:
        self.attempt += 1
        self.job = RecoveryJob(self.ledger, chat_enabled=True, page_size=self.page_size)
        self.request = self.job.start()
        self.answer = None
        if self.request is None:
            self._finish(self.job)

    def serve(self) -> None:
        """The engine computes the answer to the pending request (it arrives later)."""
        assert self.request is not None
        assert self.answer is None
        self.answer = self.engine.answer(self.request)

    def deliver(self) -> None:
        """The pending answer reaches the job."""
        assert self.job is not None
        assert self.answer is not None
        self.request = self.job.send(self.answer)
        self.answer = None
        for message in self.job.drain():
            self._publish(message)
        if self.request is None:
            self._finish(self.job)

    def fail(self) -> None:
        """The pending request fails (transiently): retry, or give up after `ATTEMPTS`."""
        assert self.job is not None
        if self.attempt < ATTEMPTS:
            self._start_job()
        else:
            self._finish(self.job, failed=True)

    def _finish(self, job: RecoveryJob, *, failed: bool = False) -> None:
        complete = not failed and job.error is None
        for message in self.ledger.finish_recovery(self.generation, complete=complete):
            self._publish(message)
        self.finished.append((complete, job.incomplete))
        self.incomplete |= set(CONVERSATIONS) if job.incomplete is None else job.incomplete
        self.job = self.request = self.answer = None

    # --- what the user saw -------------------------------------------------------------

    def _publish(self, message: ChatMessage) -> None:
        self.published.append(message)

    def settle(self) -> None:
        """Drain the socket, reconnect once more and recover with no fault."""
        while self.engine.socket:
            self.receive()
        self.drop()
        self.connect()
        while self.request is not None:
            self.serve()
            self.deliver()
        while self.engine.socket:
            self.receive()
