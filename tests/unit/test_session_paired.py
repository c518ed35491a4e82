"""The session's sans-IO client core paired with a scripted engine in memory (`_paired`).

No socket, no clock, no task: every frame crosses an explicit queue and time is a number the
test moves. What is covered, each with the exact events the session publishes:

1. Lifecycle: connect, and a drop with each close code of the contract's table (§5) →
   reconnect after the table's delay or stop with the error's family.
2. Requests across a reconnect (§5, §6, §8): an idempotent ``message.send`` resent on the next
   connection within one deadline, stored once; a non-idempotent request failing with NETWORK,
   never resent; TIMEOUT when no connection (or no reply) comes before the deadline; a reply
   arriving on a connection already declared dead; acks and errors with unknown refs.
3. Chat recovery (§8): both parties of a DM writing during the gap and during the recovery;
   a resend answered with a seq from before the gap; the user's own message in history before
   its ack; the user's other device; a conversation first seen after the gap (paged back by
   time); a history fetch failing transiently; a recovery cut short by another drop; a
   duplicate live message.
4. Typing (§6, §7): published once, refreshes absorbed, expiry 6 s after the last refresh
   through the ticker (and only while connected), a stop, the 3 s send throttle.
5. Presence (§6–§8): the subscribe snapshot taken at the ack's place among inbound frames; a
   stale update in flight across unsubscribe + subscribe; an idempotent subscribe resent on a
   new connection; the restore after a reconnect publishing only what changed in the gap.
6. Capabilities and tolerance (§7, §9): ``capabilities.updated``; malformed and unknown events
   dropped and counted.
"""

from __future__ import annotations

import math

import pytest

from utd_trio import (
    Banned,
    Capabilities,
    CapabilitiesChanged,
    Connected,
    Disconnected,
    ErrorCode,
    Forbidden,
    UTDStreamError,
)
from utd_trio._events import (
    MessageReceived,
    PresenceChanged,
    ReceiptReceived,
    RecoveryFinished,
    TypingChanged,
)
from utd_trio._models import ChatMessage
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._codec import encode_frame
from utd_trio._protocol._recovery_job import FetchPage, ListConversations
from utd_trio._protocol._session_machine import Reconnect, Stop

from ._paired import ME, Call, PairedClient, ScriptedEngine, dm

BOB = dm("bob", ME)
BASE = 0.5  # the backoff base: the first retry after an established drop (Ceiling jitter)


def paired() -> tuple[ScriptedEngine, PairedClient]:
    """An engine and a client connected to it (generation 1: nothing published)."""
    engine = ScriptedEngine()
    client = PairedClient(engine)
    client.connect()
    assert client.take() == []
    return engine, client


def connected(client: PairedClient, generation: int) -> Connected:
    """The `Connected` the reconnect of ``generation`` publishes right now."""
    return Connected(
        generation,
        True,
        True,
        None,
        socket_id=f"sock-{generation}",
        server_time=client.clock.wall(),
    )


def done(generation: int, delivered: int) -> RecoveryFinished:
    """A complete recovery of ``generation`` that delivered ``delivered`` messages."""
    return RecoveryFinished(generation, True, delivered, None, frozenset())


def lost(code: int | None = 1006, reason: str = "abnormal") -> Disconnected:
    """The `Disconnected` of an established connection's drop (retried within the base)."""
    return Disconnected(code, reason, will_retry=True, retry_in=BASE)


def got(*messages: ChatMessage, recovered: bool = False) -> list[MessageReceived]:
    """The `MessageReceived` of each message."""
    return [MessageReceived(m, recovered=recovered) for m in messages]


def sends(engine: ScriptedEngine) -> list[str]:
    """The client_id of every ``message.send`` the engine read, in order."""
    return [data[v.FIELD_CLIENT_ID] for event, data in engine.served if event == "message.send"]


def again(plan: Reconnect | Stop) -> Reconnect:
    """The supervisor's decision, which must be a reconnect."""
    assert isinstance(plan, Reconnect), plan
    return plan


def error_of(call: Call) -> UTDStreamError:
    """The error a finished call raised."""
    assert call.done
    assert call.error is not None, call.value
    return call.error


# --- 1. lifecycle through the pair (§5) -------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "delays"),
    [
        ((1001,), (BASE,)),  # going away: at once (jittered within the base)
        ((1006,), (BASE,)),  # abnormal: backoff from attempt 0
        ((None,), (BASE,)),  # died without a close frame
        ((1011,), (BASE,)),  # internal error: backoff
        ((4008,), (BASE,)),  # heartbeat timeout: at once
        ((4029,), (5.0,)),  # rate limited: at least 5 s
        ((4001,), (BASE,)),  # token invalid: re-mint, reconnect at once
        ((4001, 4001), (BASE, BASE)),  # a second 4001 in a row: backoff (attempt 0)...
        ((4001, 4001, 4001), (BASE, BASE, 1.0)),  # ... and it counts: the next one doubles
    ],
)
def test_a_drop_reconnects_after_the_close_code_tables_delay(
    codes: tuple[int | None, ...], delays: tuple[float, ...]
) -> None:
    _engine, client = paired()
    first, *then = codes
    plan = again(client.drop(first, "why"))
    assert plan == Reconnect(delays[0], Disconnected(first, "why", True, delays[0]))
    events = [plan.disconnected]
    for code, delay in zip(then, delays[1:], strict=True):
        client.advance(plan.delay)
        plan = again(client.connect_refused(code))  # the next socket: closed before hello
        reason = "[unauthorized] engine closed the socket before hello: refused (status 4001)"
        assert plan == Reconnect(delay, Disconnected(code, reason, True, delay))
        events.append(plan.disconnected)
    client.advance(plan.delay)
    client.connect()
    client.settle()
    assert client.take() == [*events, connected(client, 2), done(2, 0)]
    assert (client.machine.generation, client.machine.reconnects) == (2, 1)


@pytest.mark.parametrize(("banned", "family"), [(False, Forbidden), (True, Banned)])
def test_a_4003_stops_the_session_with_the_error_family(
    banned: bool, family: type[UTDStreamError]
) -> None:
    engine, client = paired()
    engine.banned = banned
    waiting = client.send_message(to="bob", text="in flight")
    plan = client.drop(4003, "")
    assert isinstance(plan, Stop)
    assert client.stopped is not None
    assert isinstance(client.stopped, family)
    assert client.stopped.status == 4003
    assert client.take() == [Disconnected(4003, client.stopped.message, will_retry=False)]
    assert client.machine.closed_for_good
    assert error_of(waiting).code is ErrorCode.CLOSED  # not resent: the session is over
    assert sends(engine) == []


# --- 2. requests across a reconnect (§5, §6, §8) ----------------------------------------------


def test_an_idempotent_send_is_resent_after_a_drop_and_stored_once() -> None:
    engine, client = paired()
    client.advance(1.0)
    call = client.send_message(to="bob", text="hello")
    assert call.plan is not None
    assert call.plan.deadline == 11.0
    client.serve()  # the engine stores it; its ack is lost with the socket
    assert client.drop() == Reconnect(BASE, lost())
    assert not call.done
    assert client.waiting == [call]
    client.advance(BASE)
    client.connect()
    assert len(call.refs) == 2  # sent again, a new ref, the same client_id
    assert call.attempt_limit == pytest.approx(11.0 - 1.5)  # what is left of one deadline
    client.settle()
    message = call.result()
    assert isinstance(message, ChatMessage)
    assert (message.text, message.sender, message.client_id) == ("hello", ME, "c1")
    assert engine.stored(BOB) == [message]
    assert sends(engine) == ["c1", "c1"]
    assert client.take() == [lost(), connected(client, 2), done(2, 0)]  # not delivered back


def test_an_idempotent_invite_is_resent_with_its_call_id() -> None:
    engine, client = paired()
    call = client.invite("bob", "call_000000000000000000000001")
    client.drop()  # before the engine read it
    client.connect()
    client.settle()
    assert call.result()[v.FIELD_CALL_ID] == "call_000000000000000000000001"
    assert engine.calls == {"call_000000000000000000000001": "bob"}
    assert [event for event, _ in engine.served] == ["call.invite"]  # once: lost unread


def test_a_non_idempotent_request_fails_with_network_and_is_not_resent() -> None:
    engine, client = paired()
    call = client.accept_call("call_1")
    client.serve()  # the engine accepted; the ack is lost
    client.drop()
    error = error_of(call)
    assert error.code is ErrorCode.NETWORK
    assert error.status == 1006
    assert client.waiting == []
    client.connect()
    client.settle()
    assert engine.accepted == ["call_1"]  # once
    assert len(call.refs) == 1


def test_no_connection_before_the_deadline_is_a_timeout_and_nothing_is_sent() -> None:
    engine, client = paired()
    client.drop()
    client.advance(1.0)
    call = client.send_message(to="bob", text="never")
    client.advance_to(10.999)
    assert not call.done
    client.advance_to(11.0)
    error = error_of(call)
    assert (error.code, error.message) == (ErrorCode.TIMEOUT, "message.send: not connected in time")
    assert call.refs == []
    client.connect()
    client.settle()
    assert sends(engine) == []
    assert engine.stored(BOB) == []
    assert client.take() == [lost(), connected(client, 2), done(2, 0)]


def test_a_resend_that_gets_no_reply_times_out_at_the_one_deadline() -> None:
    """The resend has what is left of the deadline; a TIMEOUT does not mean nothing stored."""
    engine, client = paired()
    call = client.send_message(to="bob", text="slow")
    client.drop()
    client.advance_to(9.5)
    client.connect()
    hello = connected(client, 2)
    assert call.attempt_limit == pytest.approx(0.5)
    client.serve(hold=True)  # stored, but the ack never comes
    client.advance_to(10.0)
    error = error_of(call)
    assert (error.code, error.message) == (ErrorCode.TIMEOUT, "message.send: no reply within 0.5 s")
    assert call.plan is not None
    assert call.plan.deadline - client.now == 0
    assert len(call.refs) == 2  # lost unread with the first socket; a timeout is final
    assert sends(engine) == ["c1"]
    # The message exists: the recovery finds it and, the send abandoned, delivers it back.
    (stored,) = engine.stored(BOB)
    client.settle()
    assert client.take() == [lost(), hello, *got(stored, recovered=True), done(2, 1)]


def test_a_reply_on_a_connection_declared_dead_is_ignored() -> None:
    engine = ScriptedEngine()
    client = PairedClient(engine, request_timeout=60.0)  # longer than the silence check
    client.connect()
    send = client.send_message(to="bob", text="late")
    accept = client.accept_call("call_1")
    old = client.link
    assert old is not None
    client.serve()
    client.serve()  # both acks are on the wire, but the engine goes silent before them
    acks = list(old.wire.down)
    old.wire.down.clear()
    client.advance_to(old.machine.dead_at)  # silence: the client kills the socket
    assert client.take() == [lost(None, "no frame from the engine for 35.0 s")]
    assert error_of(accept).code is ErrorCode.NETWORK
    old.wire.down.extend(acks)
    client.deliver_all(old)  # they arrive after all: the machine failed their refs already
    assert not send.done
    assert error_of(accept).code is ErrorCode.NETWORK
    assert client.stats.dropped == {}
    client.connect()
    client.settle()
    (message,) = engine.stored(BOB)
    assert send.result() == message
    assert sends(engine) == ["c1", "c1"]
    assert engine.accepted == ["call_1"]


def test_acks_with_unknown_refs_are_ignored_and_errors_counted() -> None:
    engine, client = paired()
    call = client.send_message(to="bob", text="real")
    engine.push(encode_frame(v.EV_ACK, {"id": "m99"}, "r-unknown"))
    engine.push(engine.error_frame("r-unknown", 404, "not_found", "no such request"))
    engine.push(engine.error_frame(None, 422, "invalid_frame", "bad frame"))
    client.deliver_all()
    assert not call.done
    assert client.stats.dropped == {"error_without_request": 2}
    client.flush()
    assert call.result() == engine.stored(BOB)[0]
    assert client.take() == []


def test_an_error_reply_is_final_even_for_an_idempotent_request() -> None:
    engine, client = paired()
    engine.refuse_next("message.send", 403, "feature_disabled", "Messaging is not enabled")
    call = client.send_message(to="bob", text="no chat")
    client.flush()
    error = error_of(call)
    assert (error.code, error.is_chat_disabled) == (ErrorCode.FEATURE_DISABLED, True)
    assert len(call.refs) == 1
    assert client.protocol.delivery.accounted(BOB, 1) is False


# --- 3. chat recovery (§8) --------------------------------------------------------------------


def test_both_parties_write_during_the_gap_and_the_recovery() -> None:
    engine, client = paired()
    b1 = engine.say("bob", "b1")
    client.deliver_all()
    own = client.send_message(to="bob", text="me1")
    client.flush()
    assert client.take() == got(b1)
    client.advance(1.0)
    client.drop()
    client.advance(1.0)
    b3 = engine.say("bob", "b3")  # missed
    gap_send = client.send_message(to="bob", text="me-gap")  # waits for a connection
    o4 = engine.from_other_device("bob", "other device", "x1")  # missed, my own other device
    client.advance(1.0)
    client.connect()
    assert client.recovery is not None
    assert client.recovery.request == ListConversations()
    b5 = engine.say("bob", "b5 live")  # live during the recovery: held
    client.serve()  # my gap send stored now, after b5
    client.deliver_all()
    assert client.protocol.delivery.held == 1
    assert client.take() == [lost(), connected(client, 2)]
    client.rest()  # the listing
    request = client.recovery.request
    assert isinstance(request, FetchPage)
    assert request == FetchPage(BOB, after=2)
    page = engine.answer(request)  # a slow answer: misses what comes next
    b7 = engine.say("bob", "b7 live")
    client.deliver_all()
    client.rest(page)
    # Missed first (in seq order, mine skipped), then the held live ones not seen yet.
    assert client.take() == [*got(b3, o4, b5, recovered=True), *got(b7), done(2, 3)]
    assert client.protocol.delivery.held == 0
    # Everything stored was seen exactly once: published, or acked as this session's.
    mine = [own.result(), gap_send.result()]
    assert sorted(m.seq for m in [b1, b3, o4, b5, b7, *mine]) == [m.seq for m in engine.stored(BOB)]
    b8 = engine.say("bob", "b8")
    client.deliver_all()
    assert client.take() == got(b8)


def test_a_resend_answered_with_a_seq_from_before_the_gap_hides_nothing() -> None:
    engine, client = paired()
    b1 = engine.say("bob", "b1")
    client.deliver_all()
    engine.say("bob", "b2 in flight")  # lost with the socket
    call = client.send_message(to="bob", text="mine")
    client.serve()  # seq 3, its ack lost too
    client.drop()
    b4 = engine.say("bob", "b4")
    client.connect()
    client.flush()  # the resend's ack comes first: seq 3, from before the gap
    assert call.result().seq == 3
    assert client.protocol.delivery.floor(BOB) == 1
    client.settle()
    b2 = engine.stored(BOB)[1]
    assert client.take() == [
        *got(b1),
        lost(),
        connected(client, 2),
        *got(b2, b4, recovered=True),
        done(2, 2),
    ]


def test_the_users_own_message_in_history_before_its_ack_is_not_delivered_back() -> None:
    engine, client = paired()
    call = client.send_message(to="bob", text="mine")
    client.serve()
    client.drop()
    client.advance(1.0)
    client.connect()  # the resend is on its way, not read yet
    client.rest()
    client.rest()  # the page back from the newest: the message, still awaiting its ack
    assert client.rest_log == [ListConversations(), FetchPage(BOB)]
    assert client.take() == [lost(), connected(client, 2), done(2, 0)]
    client.flush()
    (message,) = engine.stored(BOB)
    assert call.result() == message
    assert client.take() == []
    assert client.protocol.delivery.accounted(BOB, message.seq)


def test_messages_from_the_users_other_device_are_delivered_not_its_own_sends() -> None:
    engine, client = paired()
    other = engine.from_other_device("bob", "from my phone", "phone-1")
    call = client.send_message(to="bob", text="from here")
    client.flush()
    mine = call.result()
    assert client.take() == got(other)  # this socket's own send is not echoed (§10)
    assert (other.sender, other.seq, mine.seq) == (ME, 1, 2)
    client.drop()
    gap = engine.from_other_device("bob", "phone again", "phone-2")
    client.connect()
    client.settle()
    assert client.take() == [lost(), connected(client, 2), *got(gap, recovered=True), done(2, 1)]


def test_a_conversation_first_seen_after_the_gap_is_paged_back_by_time() -> None:
    engine = ScriptedEngine()
    old = [engine.say("dave", f"old {i}") for i in range(5)]  # before the session
    engine.say("erin", "before the session too")
    client = PairedClient(engine)
    client.advance(1.0)
    client.connect()
    client.advance(1.0)
    client.drop()
    client.advance(1.0)
    new = [engine.say("dave", f"new {i}") for i in range(250)]  # more than one page
    client.connect()
    client.settle()
    dave = dm("dave", ME)
    assert client.rest_log == [
        ListConversations(),
        FetchPage(dave),  # the newest 200
        FetchPage(dave, before=old[-1].seq + 51),  # back, until older than the gap
    ]
    assert client.take() == [
        lost(),
        connected(client, 2),
        *got(*new, recovered=True),
        done(2, 250),
    ]
    assert client.protocol.delivery.floor(dave) == new[-1].seq
    assert client.protocol.delivery.floor(dm("erin", ME)) == 1  # proven with no fetch


def test_a_history_fetch_failing_transiently_is_tried_again_while_live_ones_wait() -> None:
    engine, client = paired()
    b1 = engine.say("bob", "b1")
    client.deliver_all()
    client.drop()
    b2 = engine.say("bob", "b2")
    client.connect()
    b3 = engine.say("bob", "b3 live")
    client.deliver_all()
    hello = connected(client, 2)
    client.rest_fail(UTDStreamError(ErrorCode.SERVER, "busy", status=503))
    assert client.recovery is not None
    assert client.recovery.retry_at == client.now + 0.25
    client.advance(0.2)
    assert client.recovery.request is None
    client.advance(0.05)  # the retry's sleep is over: a new job lists again
    assert client.recovery.request == ListConversations()
    client.settle()
    assert client.take() == [*got(b1), lost(), hello, *got(b2, b3, recovered=True), done(2, 2)]


def test_a_recovery_that_keeps_failing_releases_held_messages_and_says_so() -> None:
    engine, client = paired()
    b1 = engine.say("bob", "b1")
    client.deliver_all()
    client.drop()
    b2 = engine.say("bob", "b2 missed")
    client.connect()
    hello = connected(client, 2)
    b3 = engine.say("bob", "b3 live")
    client.deliver_all()
    network = UTDStreamError(ErrorCode.NETWORK, "reset")
    for delay in (0.25, 0.5):  # RECOVERY_ATTEMPTS = 3, 0.25 s then 0.5 s apart
        client.rest_fail(network)
        assert client.take() == ([*got(b1), lost(), hello] if delay == 0.25 else [])
        client.advance(delay)
    client.rest_fail(network)
    # The held live message goes out so the session keeps flowing; the report says what
    # may be missing (None: even the listing failed, so any conversation).
    error = f"history could not be fetched: {network}"
    assert client.take() == [*got(b3), RecoveryFinished(2, False, 0, error, None)]
    assert client.protocol.delivery.gap_closed is False
    # The next connection recovers what is still missing: later than b3, never twice.
    client.drop()
    client.connect()
    client.settle()
    assert client.take() == [lost(), connected(client, 3), *got(b2, recovered=True), done(3, 1)]


def test_a_recovery_cut_short_by_another_drop_keeps_live_messages_held() -> None:
    engine, client = paired()
    client.drop()
    b1 = engine.say("bob", "b1 missed")
    client.connect()
    b2 = engine.say("bob", "b2 live")
    client.deliver_all()
    client.rest()  # the listing; the page is never answered
    client.drop()
    assert client.protocol.delivery.held == 1
    assert client.take() == [lost(), connected(client, 2), lost()]
    b3 = engine.say("bob", "b3 missed")
    client.connect()
    client.settle()
    assert client.take() == [connected(client, 3), *got(b1, b2, b3, recovered=True), done(3, 3)]
    assert client.protocol.delivery.held == 0


def test_a_duplicate_live_message_is_published_once() -> None:
    engine, client = paired()
    b1 = engine.say("bob", "b1")
    engine.push(engine.message_frame(b1))
    client.deliver_all()
    assert client.take() == got(b1)


def test_a_receipt_is_published_and_moves_the_proven_moment() -> None:
    engine, client = paired()
    client.advance(5.0)
    engine.receipt(BOB, "bob", 3)
    client.deliver_all()
    (receipt,) = client.take()
    assert isinstance(receipt, ReceiptReceived)
    assert (receipt.conversation_id, receipt.user_id, receipt.status, receipt.up_to_seq) == (
        BOB,
        "bob",
        "read",
        3,
    )
    client.drop()
    assert client.protocol.delivery.open_since is None  # until the next connection
    client.connect()
    assert client.protocol.delivery.open_since == receipt.at


# --- 4. typing (§6, §7) -----------------------------------------------------------------------


def test_typing_is_published_once_refreshes_are_absorbed_and_it_expires() -> None:
    engine, client = paired()
    assert client.protocol.next_tick() == math.inf
    engine.typing("bob")
    client.deliver_all()
    assert client.take() == [TypingChanged(BOB, "bob", True)]
    assert client.protocol.next_tick() == 6.0
    client.advance_to(3.0)
    engine.typing("bob")  # a refresh
    client.deliver_all()
    assert client.take() == []
    assert client.protocol.next_tick() == 9.0
    client.advance_to(8.999)
    assert client.take() == []
    client.advance_to(9.0)
    assert client.take() == [TypingChanged(BOB, "bob", False)]
    assert client.protocol.next_tick() == math.inf


def test_a_typing_stop_before_expiry_is_published_and_nothing_expires() -> None:
    engine, client = paired()
    engine.typing("bob")
    engine.typing("carol", group_id="g1")
    client.deliver_all()
    client.advance_to(2.0)
    engine.typing("bob", False)
    engine.typing("bob", False)  # a stop of someone not typing: absorbed
    client.deliver_all()
    assert client.take() == [
        TypingChanged(BOB, "bob", True),
        TypingChanged("group:g1", "carol", True),
        TypingChanged(BOB, "bob", False),
    ]
    assert client.protocol.next_tick() == 6.0
    client.advance_to(20.0)
    assert client.take() == [TypingChanged("group:g1", "carol", False)]
    assert client.protocol.next_tick() == math.inf


def test_a_typing_expiry_during_a_gap_is_published_once_connected_again() -> None:
    engine, client = paired()
    engine.typing("bob")
    client.deliver_all()
    client.advance_to(1.0)
    client.drop()
    client.advance_to(10.0)  # no connection: the ticker does not run
    assert client.take() == [TypingChanged(BOB, "bob", True), lost()]
    client.connect()
    assert client.take() == [connected(client, 2), TypingChanged(BOB, "bob", False)]


def test_typing_sends_one_true_per_three_seconds_and_a_false_on_stop_or_send() -> None:
    engine, client = paired()

    def typed() -> list[bool]:
        client.flush()
        return [data[v.FIELD_IS_TYPING] for event, data in engine.served if event == "typing"]

    assert client.set_typing(to="bob") is not None
    client.advance_to(1.0)
    assert client.set_typing(to="bob") is None
    client.advance_to(2.999)
    assert client.set_typing(to="bob") is None
    assert typed() == [True]
    client.advance_to(3.0)
    assert client.set_typing(to="bob") is not None
    assert client.set_typing(to="bob", typing=False) is not None
    assert client.set_typing(to="bob", typing=False) is None  # nothing to stop
    assert typed() == [True, True, False]
    client.set_typing(to="bob")
    client.send_message(to="bob", text="done typing")
    assert typed() == [True, True, False, True, False]  # the send stops it
    assert client.take() == []


def test_a_typing_start_that_failed_may_go_again_at_once() -> None:
    engine, client = paired()
    engine.refuse_next("typing", 429, "rate_limited", "slow down")
    call = client.set_typing(to="bob")
    assert call is not None
    client.flush()
    assert error_of(call).code is ErrorCode.RATE_LIMITED
    client.advance(0.1)
    again = client.set_typing(to="bob")
    assert again is not None
    client.flush()
    assert again.result() == {}


# --- 5. presence (§6–§8) ----------------------------------------------------------------------


def test_an_update_after_the_snapshot_was_taken_wins_over_it() -> None:
    engine, client = paired()
    offline = engine.presence("bob")
    call = client.subscribe(["bob"])
    snapshot = client.serve(hold=True)  # bob offline, the ack held back by the engine
    assert snapshot is not None
    online = engine.set_presence("bob", True)  # made after the snapshot, sent first
    client.wire.down.append(snapshot)
    client.deliver()  # the live update: after the mark
    assert client.take() == [PresenceChanged("bob", True, None)]
    client.deliver()  # the ack: its older snapshot does not overrule the update
    assert call.result() == (offline,)  # the caller gets the snapshot as it was
    assert client.protocol.presence.known("bob") == online
    assert client.take() == []


def test_an_update_after_the_ack_wins_and_one_before_the_mark_loses() -> None:
    engine, client = paired()
    client.subscribe(["bob"])
    client.flush()
    offline = engine.presence("bob")
    assert client.protocol.presence.known("bob") == offline
    online = engine.set_presence("bob", True)
    client.deliver_all()
    assert client.protocol.presence.known("bob") == online
    # An update received before the mark of a new subscribe is older than its snapshot.
    client.advance(1.0)
    left = engine.set_presence("bob", False)
    client.deliver_all()
    call = client.subscribe(["bob"])
    client.flush()
    assert call.result() == (left,)
    assert client.protocol.presence.known("bob") == left
    assert client.take() == [
        PresenceChanged("bob", True, None),
        PresenceChanged("bob", False, left.last_seen_at),
    ]


def test_a_stale_update_in_flight_across_unsubscribe_and_subscribe_loses() -> None:
    engine, client = paired()
    client.subscribe(["bob"])
    client.flush()
    engine.set_presence("bob", True)  # in flight on the wire
    client.unsubscribe(["bob"])
    client.subscribe(["bob"])
    client.serve()  # the unsubscribe
    client.advance(1.0)
    offline = engine.set_presence("bob", False)  # nobody watches: no update sent
    client.serve()  # the subscribe: the newer snapshot
    client.deliver_all()  # the stale update, then both acks
    assert client.take() == []  # the stale update is neither published nor counted
    assert client.protocol.presence.known("bob") == offline
    assert client.protocol.presence.subscriptions == frozenset({"bob"})


def test_a_subscribe_resent_on_a_new_connection_counts_updates_from_the_resend() -> None:
    engine, client = paired()
    client.subscribe(["bob"])
    client.flush()
    call = client.subscribe(["bob"])  # again, e.g. another part of the app
    offline = engine.set_presence("bob", False)  # before the request is read: older
    client.deliver_all()
    assert client.take() == [PresenceChanged("bob", False, offline.last_seen_at)]
    client.drop()  # the subscribe was never read: resent on the next connection
    client.advance(1.0)
    online = engine.set_presence("bob", True)
    client.connect()
    hello = connected(client, 2)
    assert len(call.refs) == 2
    client.serve()
    client.deliver()  # the resend's ack: its snapshot is newer than the old update
    assert call.result() == (online,)
    assert client.protocol.presence.known("bob") == online
    # bob was watched already: the change the gap swallowed is published, by whichever
    # answer brings it first (here the resend's)
    assert client.take() == [lost(), hello, PresenceChanged("bob", True, None)]


def test_a_gap_change_is_published_even_when_a_resent_subscribe_answers_first() -> None:
    engine, client = paired()
    client.subscribe(["bob"])  # watched, known offline
    client.flush()
    call = client.subscribe(["bob"])  # again; in flight when the socket drops
    client.drop()
    client.advance(1.0)
    online = engine.set_presence("bob", True)  # the change the gap swallowed
    client.connect()  # the resend goes out first, then the restore hook's subscribe
    hello = connected(client, 2)
    client.settle()
    assert call.result() == (online,)
    assert client.protocol.presence.known("bob") == online
    assert client.take() == [lost(), hello, PresenceChanged("bob", True, None), done(2, 0)]


def test_the_restore_after_a_reconnect_publishes_only_what_changed_in_the_gap() -> None:
    engine, client = paired()
    for user in ("carol", "dave"):
        engine.set_presence(user, True)
    client.subscribe(["bob", "carol", "dave"])
    client.flush()
    client.drop()
    client.advance(1.0)
    bob = engine.set_presence("bob", True)
    engine.set_presence("dave", False)
    engine.set_presence("dave", True)  # back again: no net change
    client.connect()
    client.settle()
    assert client.take() == [
        lost(),
        connected(client, 2),
        PresenceChanged("bob", True, None),
        done(2, 0),
    ]
    assert client.protocol.presence.known("bob") == bob
    assert [data for event, data in engine.served if event == "presence.subscribe"][-1] == {
        "user_ids": ["bob", "carol", "dave"]
    }


# --- 6. capabilities and tolerance (§7, §9) ---------------------------------------------------


def test_capabilities_updated_is_published_as_a_change() -> None:
    engine, client = paired()
    engine.flip(chat=False)
    engine.flip(chat=False)  # the same snapshot: no change
    client.deliver_all()
    assert client.take() == [
        CapabilitiesChanged(Capabilities(True, True, None), Capabilities(True, False, None))
    ]
    assert client.machine.capabilities.chat_enabled is False


def test_malformed_and_unknown_events_are_dropped_and_counted() -> None:
    engine, client = paired()
    engine.push("not json")
    engine.push("[1, 2]")
    engine.emit("message.new", {"id": "m1", "conversation_id": BOB})  # no seq
    engine.emit("something.new", {"x": 1})
    b1 = engine.say("bob", "still flowing")
    client.deliver_all()
    assert client.take() == got(b1)
    assert client.protocol.stats.dropped == {
        "not_json": 1,
        "not_object": 1,
        "malformed_event": 1,
        "unknown_event": 1,
    }
    assert client.link is not None
    assert not client.link.closed
