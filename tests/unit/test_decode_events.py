"""Server → client events, protocol §7: each known event becomes its typed record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from utd_trio._events import (
    CallAccepted,
    CallAnsweredElsewhere,
    CallCancelled,
    CallEnded,
    CallIncoming,
    CallMissed,
    CallRejected,
    CallRinging,
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    Event,
    GroupChanged,
    MessageReceived,
    PresenceChanged,
    ReceiptReceived,
    TypingChanged,
)
from utd_trio._models import ChatMessage, Group, GroupMember
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._codec import Frame, decode_frame, encode_frame, event_key
from utd_trio._protocol._decode_events import DECODERS, decode_event
from utd_trio._protocol._parse import WireFormatError

T0 = "2026-11-24T09:24:12.508Z"
T0_DT = datetime(2026, 11, 24, 9, 24, 12, 508000, tzinfo=UTC)
CID = "call_0123456789abcdef01234567"

MESSAGE = {
    "id": "m1",
    "client_id": "c1",
    "conversation_id": "dm:alice:bob",
    "seq": 4,
    "from": "alice",
    "to": "bob",
    "text": "hi",
    "metadata": {"k": 1},
    "created_at": T0,
}
GROUP = {
    "group_id": "g1",
    "name": "Team",
    "owner": "alice",
    "members": [{"user_id": "alice", "role": "owner"}, {"user_id": "bob", "role": "member"}],
    "created_at": T0,
}

# Every event of protocol §7 with the exact field names of the table.
EVENTS = [
    pytest.param(
        "presence.update",
        {"user_id": "bob", "online": False, "last_seen_at": T0},
        PresenceChanged("bob", False, T0_DT),
        id="presence.update",
    ),
    pytest.param(
        "call.incoming",
        {
            "call_id": CID,
            "from": "alice",
            "from_name": "Alice",
            "type": "video",
            "metadata": {"topic": "standup"},
            "expires_at": T0,
        },
        CallIncoming(CID, "alice", True, "Alice", {"topic": "standup"}, T0_DT),
        id="call.incoming",
    ),
    pytest.param(
        "call.incoming",
        {"call_id": CID, "from": "alice", "type": "audio", "metadata": {}, "expires_at": T0},
        CallIncoming(CID, "alice", False, None, {}, T0_DT),
        id="call.incoming-audio-no-name",
    ),
    pytest.param("call.ringing", {"call_id": CID}, CallRinging(CID), id="call.ringing"),
    pytest.param(
        "call.accepted",
        {"call_id": CID, "by": "bob", "room_name": "room-1", "media": {"url": "u", "token": "t"}},
        CallAccepted(CID, "bob", "room-1", {"url": "u", "token": "t"}),
        id="call.accepted",
    ),
    pytest.param(
        "call.accepted",
        {"call_id": CID, "by": "bob", "room_name": "room-1"},
        CallAccepted(CID, "bob", "room-1", None),
        id="call.accepted-no-media",
    ),
    pytest.param(
        "call.answered_elsewhere",
        {"call_id": CID},
        CallAnsweredElsewhere(CID),
        id="call.answered_elsewhere",
    ),
    pytest.param(
        "call.rejected",
        {"call_id": CID, "by": "bob", "reason": "busy"},
        CallRejected(CID, "bob", "busy"),
        id="call.rejected",
    ),
    pytest.param("call.cancelled", {"call_id": CID}, CallCancelled(CID), id="call.cancelled"),
    pytest.param(
        "call.ended",
        {"call_id": CID, "by": "alice", "reason": "hangup", "duration_seconds": 42},
        CallEnded(CID, "alice", "hangup", 42),
        id="call.ended",
    ),
    pytest.param("call.missed", {"call_id": CID}, CallMissed(CID), id="call.missed"),
    pytest.param(
        "message.new",
        MESSAGE,
        MessageReceived(
            ChatMessage(
                id="m1",
                conversation_id="dm:alice:bob",
                seq=4,
                sender="alice",
                created_at=T0_DT,
                client_id="c1",
                to="bob",
                text="hi",
                metadata={"k": 1},
            )
        ),
        id="message.new",
    ),
    pytest.param(
        "receipt",
        {
            "conversation_id": "dm:alice:bob",
            "user_id": "bob",
            "status": "read",
            "up_to_seq": 4,
            "at": T0,
        },
        ReceiptReceived("dm:alice:bob", "bob", "read", 4, T0_DT),
        id="receipt",
    ),
    pytest.param(
        "typing",
        {"conversation_id": "group:g1", "from": "bob", "is_typing": True},
        TypingChanged("group:g1", "bob", True),
        id="typing",
    ),
    pytest.param(
        "group.updated",
        {**GROUP, "change": "member_added", "user_ids": ["bob"]},
        GroupChanged(
            Group(
                "g1",
                "Team",
                "alice",
                (GroupMember("alice", "owner"), GroupMember("bob", "member")),
                T0_DT,
            ),
            "member_added",
            ("bob",),
        ),
        id="group.updated",
    ),
    pytest.param(
        "channel.event",
        {"channel": "private-x", "event": "client-a", "data": "[1]", "user_id": "bob"},
        ChannelEvent("private-x", "client-a", "[1]", "bob"),  # data passed through as is
        id="channel.event",
    ),
    pytest.param(
        "channel.member_added",
        {"channel": "presence-x", "user_id": "bob", "user_info": {"n": 1}},
        ChannelMemberAdded("presence-x", "bob", {"n": 1}),
        id="channel.member_added",
    ),
    pytest.param(
        "channel.member_removed",
        {"channel": "presence-x", "user_id": "bob"},
        ChannelMemberRemoved("presence-x", "bob"),
        id="channel.member_removed",
    ),
]


@pytest.mark.parametrize(("name", "data", "expected"), EVENTS)
def test_every_server_event_decodes_to_its_record(
    name: str, data: dict[str, Any], expected: Event
) -> None:
    assert decode_event(event_key(name), data) == expected


@pytest.mark.parametrize(("name", "data", "expected"), EVENTS)
def test_events_decode_from_the_wire(name: str, data: dict[str, Any], expected: Event) -> None:
    frame = decode_frame(encode_frame(name, data))
    assert isinstance(frame, Frame)
    assert decode_event(frame.event, frame.data) == expected


@pytest.mark.parametrize(("name", "data", "expected"), EVENTS)
def test_raw_and_underscore_names_match_too(
    name: str, data: dict[str, Any], expected: Event
) -> None:
    assert decode_event(name, data) == expected
    assert decode_event(name.replace(".", "_"), data) == expected


def test_every_section_7_event_but_capabilities_has_a_decoder() -> None:
    # capabilities.updated needs the previous snapshot; the connection handles it.
    section_7 = {
        v.EV_PRESENCE_UPDATE,
        v.EV_CALL_INCOMING,
        v.EV_CALL_RINGING,
        v.EV_CALL_ACCEPTED,
        v.EV_CALL_ANSWERED_ELSEWHERE,
        v.EV_CALL_REJECTED,
        v.EV_CALL_CANCELLED,
        v.EV_CALL_ENDED,
        v.EV_CALL_MISSED,
        v.EV_MESSAGE_NEW,
        v.EV_RECEIPT,
        v.EV_TYPING,
        v.EV_GROUP_UPDATED,
    }
    section_11 = {v.EV_CHANNEL_EVENT, v.EV_CHANNEL_MEMBER_ADDED, v.EV_CHANNEL_MEMBER_REMOVED}
    assert set(DECODERS) == {event_key(name) for name in section_7 | section_11}
    assert {p.values[0] for p in EVENTS} == section_7 | section_11


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("call.transferred", id="unknown-call-event"),
        pytest.param("presence", id="prefix"),
        pytest.param("connection.established", id="lifecycle-hello"),
        pytest.param("ack", id="lifecycle-ack"),
        pytest.param("error", id="lifecycle-error"),
        pytest.param("pong", id="lifecycle-pong"),
        pytest.param("capabilities.updated", id="capabilities-handled-by-connection"),
    ],
)
def test_unknown_events_decode_to_none(name: str) -> None:
    assert decode_event(event_key(name), {"call_id": CID, "anything": 1}) is None


# --- tolerance of odd fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        pytest.param(
            "call.incoming",
            {"callId": CID, "from": "alice", "fromName": "A", "expiresAt": T0},
            CallIncoming(CID, "alice", False, "A", {}, T0_DT),
            id="incoming-camel-and-missing-type",
        ),
        pytest.param(
            "call.incoming",
            {"call_id": CID, "from": "alice", "type": "video", "metadata": "x", "expires_at": 1},
            CallIncoming(CID, "alice", True, None, {}, None),
            id="incoming-junk-metadata-and-time",
        ),
        pytest.param(
            "call.accepted",
            {"call_id": CID, "media": "opaque"},
            CallAccepted(CID, "", None, None),
            id="accepted-minimal",
        ),
        pytest.param(
            "call.rejected", {"call_id": CID}, CallRejected(CID, "", None), id="rejected-minimal"
        ),
        pytest.param(
            "call.ended",
            {"call_id": CID, "by": "bob", "durationSeconds": "7"},
            CallEnded(CID, "bob", None, 7),
            id="ended-camel-string-duration",
        ),
        pytest.param(
            "call.ended",
            {"call_id": CID, "by": "bob", "duration_seconds": 7.5},
            CallEnded(CID, "bob", None, None),
            id="ended-fractional-duration",
        ),
        pytest.param(
            "call.ringing", {"call_id": 12345, "extra": 1}, CallRinging("12345"), id="numeric-id"
        ),
        pytest.param(
            "receipt",
            {"conversationId": "c", "userId": "u", "upToSeq": "9"},
            ReceiptReceived("c", "u", "delivered", 9, None),
            id="receipt-camel-no-status",
        ),
        pytest.param(
            "typing",
            {"conversation_id": "c", "from": "u", "is_typing": "false"},
            TypingChanged("c", "u", False),
            id="typing-string-false",
        ),
        pytest.param(
            "typing",
            {"conversation_id": "c", "from": "u"},
            TypingChanged("c", "u", False),
            id="typing-missing-flag",
        ),
        pytest.param(
            "group.updated",
            {"group_id": "g", "user_ids": ["a", 5, None, ""]},
            GroupChanged(Group("g", "", "", ()), "updated", ("a", "5")),
            id="group-minimal-odd-user_ids",
        ),
        pytest.param(
            "presence.update",
            {"user_id": "u", "online": 1, "last_seen_at": None},
            PresenceChanged("u", True, None),
            id="presence-online-1",
        ),
    ],
)
def test_odd_fields_are_tolerated(name: str, data: dict[str, Any], expected: Event) -> None:
    assert decode_event(event_key(name), data) == expected


# --- known events missing their identity -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "missing"),
    [
        pytest.param("presence.update", {"online": True}, "user_id", id="presence-no-user"),
        pytest.param("call.incoming", {"from": "a", "type": "audio"}, "call_id", id="incoming"),
        pytest.param("call.incoming", {"call_id": CID}, "from", id="incoming-no-caller"),
        pytest.param("call.ringing", {}, "call_id", id="ringing"),
        pytest.param("call.accepted", {"by": "b"}, "call_id", id="accepted"),
        pytest.param("call.answered_elsewhere", {"call_id": ""}, "call_id", id="elsewhere-empty"),
        pytest.param("call.rejected", {"call_id": None}, "call_id", id="rejected-null"),
        pytest.param("call.cancelled", {"call_id": ["x"]}, "call_id", id="cancelled-list"),
        pytest.param("call.ended", {"by": "a"}, "call_id", id="ended"),
        pytest.param("call.missed", {}, "call_id", id="missed"),
        pytest.param("message.new", {**MESSAGE, "id": None}, "id", id="message-no-id"),
        pytest.param(
            "message.new", {"id": "m", "conversation_id": "c"}, "seq", id="message-no-seq"
        ),
        pytest.param(
            "receipt", {"user_id": "u", "up_to_seq": 1}, "conversation_id", id="receipt-no-conv"
        ),
        pytest.param(
            "receipt", {"conversation_id": "c", "user_id": "u"}, "up_to_seq", id="receipt-no-seq"
        ),
        pytest.param(
            "receipt", {"conversation_id": "c", "up_to_seq": 1}, "user_id", id="receipt-no-user"
        ),
        pytest.param("typing", {"from": "u", "is_typing": True}, "conversation_id", id="typing"),
        pytest.param("typing", {"conversation_id": "c"}, "from", id="typing-no-from"),
        pytest.param("group.updated", {"name": "x", "change": "renamed"}, "group_id", id="group"),
    ],
)
def test_known_event_missing_its_id_raises(name: str, data: dict[str, Any], missing: str) -> None:
    with pytest.raises(WireFormatError, match=missing):
        decode_event(event_key(name), data)
