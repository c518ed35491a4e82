"""Model-based test of chat delivery across reconnects (hypothesis stateful testing).

Random interleavings of: other users (and this user's other device) writing in DMs and a
group, this session sending (with idempotent resends after a drop, so a resend may be answered
with a seq from before a gap), frames taken off the socket one by one, drops at any point,
reconnects, recovery requests answered late (the engine computes the answer, more traffic
happens, then it arrives), failing requests, and the engine clock standing still (ties).

Invariants, at every step and after a final fault-free reconnect:
- nothing is published twice, nothing this session sent comes back;
- per conversation, seqs are published in increasing order, except in a conversation that a
  `RecoveryFinished` named incomplete before the out-of-order message;
- in the end every message stored in this user's conversations since the session began is
  published exactly once, and the ledger holds no unproven runs (its memory is O(1)).

``UTD_MODEL_EXAMPLES=5000 uv run pytest tests/unit/test_delivery_model.py`` runs a long one.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ._chat_model import CONVERSATIONS, ME, Client, ModelEngine

EXAMPLES = int(os.environ.get("UTD_MODEL_EXAMPLES", "300"))


class DeliveryMachine(RuleBasedStateMachine):
    """One user's session against the model engine."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = ModelEngine()
        self.client = Client(self.engine, page_size=2)
        self.last_seq: dict[str, int] = {}

    @initialize(
        seq_step=st.sampled_from([1, 1, 3]),
        page_size=st.integers(1, 4),
        before=st.lists(st.sampled_from(["dm:bob:me", "group:g1"]), max_size=4),
    )
    def start(self, seq_step: int, page_size: int, before: list[str]) -> None:
        self.engine.seq_step = seq_step
        self.client.page_size = page_size
        for cid in before:  # history from before the session: never owed
            self.engine.store(cid, CONVERSATIONS[cid][0])
        self.client.connect()

    # --- traffic -------------------------------------------------------------------------

    @rule(cid=st.sampled_from(sorted(CONVERSATIONS)), data=st.data())
    def someone_writes(self, cid: str, data: st.DataObject) -> None:
        self.engine.store(cid, data.draw(st.sampled_from(CONVERSATIONS[cid])))

    @precondition(lambda self: self.client.connected)
    @rule(cid=st.sampled_from(sorted(CONVERSATIONS)))
    def i_write(self, cid: str) -> None:
        self.client.send(cid)

    @rule()
    def clock_ticks(self) -> None:
        self.engine.clock += 1

    @precondition(lambda self: bool(self.engine.socket))
    @rule(frames=st.integers(1, 5))
    def frames_arrive(self, frames: int) -> None:
        for _ in range(frames):
            if self.engine.socket:
                self.client.receive()

    # --- faults and recovery -------------------------------------------------------------

    @precondition(lambda self: self.client.connected)
    @rule()
    def drop(self) -> None:
        self.client.drop()

    @precondition(lambda self: not self.client.connected)
    @rule()
    def reconnect(self) -> None:
        self.client.connect()

    @precondition(lambda self: self.client.request is not None and self.client.answer is None)
    @rule()
    def engine_answers(self) -> None:
        self.client.serve()

    @precondition(lambda self: self.client.answer is not None)
    @rule()
    def answer_arrives(self) -> None:
        self.client.deliver()

    @precondition(lambda self: self.client.request is not None)
    @rule()
    def request_fails(self) -> None:
        self.client.fail()

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def published_once_in_order(self) -> None:
        seen: set[tuple[str, int]] = set()
        last: dict[str, int] = {}
        for message in self.client.published:
            key = (message.conversation_id, message.seq)
            assert key not in seen, f"published twice: {message}"
            seen.add(key)
            assert message.id not in self.client.own, f"own send came back: {message}"
            cid = message.conversation_id
            if cid in last and message.seq < last[cid]:
                assert cid in self.client.incomplete, f"out of order in {cid}: {message}"
            last[cid] = max(last.get(cid, 0), message.seq)

    def teardown(self) -> None:
        client = self.client
        if client.started is None:
            return
        client.settle()
        self.published_once_in_order()
        owed = {
            (m.conversation_id, m.seq)
            for messages in self.engine.stored.values()
            for m in messages
            if m.created_at is not None and m.created_at >= client.started and m.sender != ME
        }
        got = {(m.conversation_id, m.seq) for m in client.published}
        assert got == owed, f"missing {sorted(owed - got)}, extra {sorted(got - owed)}"
        assert client.finished[-1] == (True, frozenset())
        for cid in self.engine.stored:
            assert client.ledger.runs(cid) == (), f"unproven runs left in {cid}"


TestDelivery = DeliveryMachine.TestCase
TestDelivery.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
