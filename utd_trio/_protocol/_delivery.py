"""What this session has delivered of each conversation, and what it holds back (sans-IO).

`DeliveryLedger` decides, for every chat message that reaches the session — live on the
socket, as the answer to its own send, or from a history page during recovery — whether it is
published, held or dropped as a duplicate. It has no I/O, no clock and no tasks; the async
shell (`utd_trio._domains._chat_recovery`) feeds it and acts on its answers, and `RecoveryJob`
(`_recovery_job.py`) plans the history fetches that close a reconnect gap.

"Accounted for" means exactly one of: delivered to this user as `MessageReceived`, or sent
by this session itself (its ack). Per conversation the ledger keeps those seqs as an exact
`SeqSet`, and nothing else ever enters it: an own send adds its one seq (a resend answered
with a seq from before a gap adds that seq, not a span over the gap), a held live message
adds nothing until it is released.

The one assumption, from the contract (§8's rule "fetch history after the last seq
delivered" rests on it): on one socket the engine sends a conversation's ``message.new``
frames in ``seq`` order, and all frames in the order it stored the messages. Hence:

- On a connection whose gap is *closed* (the first connection, or one whose recovery
  completed), a live message proves that every lower seq of its conversation is accounted for:
  older ones were recovered or came live before it, and the only ones skipped on this socket
  are this session's own sends. Its seq becomes the floor.
- On a connection whose gap is still open (recovery failed), consecutive live messages prove
  only the run between them; the seqs below the first one stay unproven until a later
  recovery pages over them, skipping what is in the set.
- The engine time observed on a closed connection (hello ``server_time``, ``created_at``,
  receipt ``at``) is a moment up to which everything sent to this user was received; the
  latest such moment before a gap is where recovery of conversations with no floor starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .._models import ChatMessage
from ._seqset import SeqSet

__all__ = ["DeliveryLedger", "Held"]


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two optional moments."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass(slots=True)
class _Conversation:
    accounted: SeqSet = field(default_factory=SeqSet)
    last_delivered: int | None = None  # highest seq published as MessageReceived
    live_generation: int = 0  # the connection of the last live message, and its seq
    live_seq: int = 0


@dataclass(frozen=True, slots=True)
class Held:
    """A live message held back while its connection's recovery runs."""

    generation: int
    message: ChatMessage


class DeliveryLedger:
    """Per-conversation accounting of delivered messages; holds live ones during recovery."""

    def __init__(self) -> None:
        self._conversations: dict[str, _Conversation] = {}
        self._held: list[Held] = []
        self._sending: set[str] = set()  # client_ids of own sends awaiting their ack
        self.generation = 0
        """The connection generation the ledger is on."""
        self._closed_generation = 0  # the latest generation whose gap is closed
        self._finished_generation = 0  # the latest generation whose recovery ended
        self._time_now: datetime | None = None  # engine time seen on this generation
        self._proven: datetime | None = None  # ... on closed generations before it
        self.open_since: datetime | None = None
        """While a gap is open: the latest proven moment before it (where recovery starts)."""

    # --- reading -----------------------------------------------------------------------

    @property
    def gap_closed(self) -> bool:
        """True when the current connection needs no recovery (or its recovery completed)."""
        return self._closed_generation == self.generation

    @property
    def holding(self) -> bool:
        """True while live messages are held back for a recovery to finish."""
        return self._finished_generation != self.generation

    @property
    def held(self) -> int:
        """How many live messages are held back."""
        return len(self._held)

    def floor(self, conversation_id: str) -> int | None:
        """The seq up to which ``conversation_id`` is proven accounted for, if any."""
        conversation = self._conversations.get(conversation_id)
        return None if conversation is None else conversation.accounted.floor

    def accounted(self, conversation_id: str, seq: int) -> bool:
        """True if ``seq`` of the conversation was delivered or sent by this session."""
        conversation = self._conversations.get(conversation_id)
        return conversation is not None and seq in conversation.accounted

    def last_delivered(self, conversation_id: str) -> int | None:
        """The highest seq published as `MessageReceived` in the conversation, if any."""
        conversation = self._conversations.get(conversation_id)
        return None if conversation is None else conversation.last_delivered

    def known(self) -> frozenset[str]:
        """Every conversation the ledger has accounted anything of."""
        return frozenset(self._conversations)

    def runs(self, conversation_id: str) -> tuple[tuple[int, int], ...]:
        """The unproven runs of accounted seqs above the floor (memory is one pair each)."""
        conversation = self._conversations.get(conversation_id)
        return () if conversation is None else conversation.accounted.runs

    # --- connection lifecycle ----------------------------------------------------------

    def connected(self, generation: int, server_time: datetime | None) -> None:
        """A new connection generation is established; its hello said ``server_time``."""
        self._enter(generation)
        self.observe(server_time)

    def _enter(self, generation: int) -> None:
        if generation <= self.generation:
            return
        if self.gap_closed:
            self._proven = later(self._proven, self._time_now)
            if generation > 1:
                self.open_since = self._proven  # a new gap opens here
        self._time_now = None
        self.generation = generation
        if generation == 1:  # nothing before the session is owed
            self._closed_generation = self._finished_generation = 1

    def observe(self, moment: datetime | None, generation: int | None = None) -> None:
        """Record an engine wall-clock time seen on connection ``generation`` (or the current)."""
        if generation is not None:
            self._enter(generation)
        self._time_now = later(self._time_now, moment)

    # --- messages ----------------------------------------------------------------------

    def live(self, message: ChatMessage, generation: int) -> bool:
        """A ``message.new`` arrived on connection ``generation``: True to publish it now.

        False when it is a duplicate, or held until the connection's recovery finishes.
        Every live message passes here, so `_enter` and `observe` are written out.
        """
        if generation > self.generation:
            self._enter(generation)
        moment = message.created_at
        if moment is not None:
            seen = self._time_now
            if seen is None or moment > seen:
                self._time_now = moment
        if self._finished_generation != self.generation:  # holding
            self._held.append(Held(generation, message))
            return False
        return self._accept_live(message, generation)

    def _accept_live(self, message: ChatMessage, generation: int) -> bool:
        # `_conversation` and `_published` written out: every live message passes here.
        conversation = self._conversations.get(message.conversation_id)
        if conversation is None:
            conversation = self._conversation(message.conversation_id)
        accounted = conversation.accounted
        seq = message.seq
        if seq in accounted:
            return False
        if self._closed_generation == generation:
            accounted.raise_floor(seq)  # everything below came before it
        elif conversation.live_generation == generation and conversation.live_seq < seq:
            accounted.add_range(conversation.live_seq, seq)
        else:
            accounted.add(seq)
        conversation.live_generation, conversation.live_seq = generation, seq
        last = conversation.last_delivered
        if last is None or seq > last:
            conversation.last_delivered = seq
        return True

    def sending(self, client_id: str) -> None:
        """This session is sending a message with ``client_id`` (a UUID it made)."""
        self._sending.add(client_id)

    def abandoned(self, client_id: str) -> None:
        """The send with ``client_id`` ended without an ack: if stored, it is owed like any."""
        self._sending.discard(client_id)

    def own(self, message: ChatMessage) -> None:
        """The engine acked a message this session sent: its one seq is accounted for."""
        if message.client_id is not None:
            self._sending.discard(message.client_id)
        self._conversation(message.conversation_id).accounted.add(message.seq)
        self.observe(message.created_at)

    def recovered(self, message: ChatMessage) -> bool:
        """A message from a recovery history page: True to publish it (not yet accounted).

        A message of a send still awaiting its ack (found by ``client_id``) is this
        session's own: accounted for, not published.
        """
        conversation = self._conversation(message.conversation_id)
        if message.seq in conversation.accounted:
            return False
        if message.client_id is not None and message.client_id in self._sending:
            conversation.accounted.add(message.seq)
            return False
        conversation.accounted.add(message.seq)
        self._published(conversation, message.seq)
        return True

    def proven_up_to(self, conversation_id: str, seq: int) -> None:
        """A recovery paged the conversation completely up to ``seq``: claim what is below."""
        self._conversation(conversation_id).accounted.raise_floor(seq)

    def finish_recovery(self, generation: int, *, complete: bool) -> list[ChatMessage]:
        """The recovery of connection ``generation`` ended: the held messages to publish.

        When it is ``complete`` the gap is closed and later live messages raise floors again.
        A recovery of an older connection (cut short by another drop) changes nothing.
        """
        if generation != self.generation:
            return []
        self._finished_generation = generation
        if complete:
            self._closed_generation = generation
            self.open_since = None
        held, self._held = self._held, []
        return [h.message for h in held if self._accept_live(h.message, h.generation)]

    # --- internals ---------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> _Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            conversation = self._conversations[conversation_id] = _Conversation()
        return conversation

    @staticmethod
    def _published(conversation: _Conversation, seq: int) -> None:
        last = conversation.last_delivered
        conversation.last_delivered = seq if last is None else max(last, seq)
