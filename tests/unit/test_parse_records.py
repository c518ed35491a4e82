"""Domain records from REST replies and events (protocol §4), with minimal and odd inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from utd_trio._models import (
    Attachment,
    ChatMessage,
    Conversation,
    Group,
    GroupMember,
    PresenceInfo,
    UploadTicket,
)
from utd_trio._protocol._parse import (
    WireFormatError,
    parse_attachment,
    parse_conversation,
    parse_group,
    parse_history,
    parse_message,
    parse_presence,
    parse_presence_list,
    parse_upload_ticket,
)

T0 = "2026-11-24T09:24:12.508Z"
T0_DT = datetime(2026, 11, 24, 9, 24, 12, 508000, tzinfo=UTC)


def msg(seq: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{seq}", "conversation_id": "dm:a:b", "seq": seq, "from": "a", **extra}


# --- messages ----------------------------------------------------------------------------------


def test_parse_message_full() -> None:
    wire = {
        "id": "m1",
        "client_id": "c-uuid",
        "conversation_id": "group:g1",
        "seq": 7,
        "from": "alice",
        "group_id": "g1",
        "text": "hi",
        "attachment": {"url": "https://f/x", "key": "k", "content_type": "image/png", "size": 3},
        "metadata": {"k": [1]},
        "created_at": T0,
    }
    assert parse_message(wire) == ChatMessage(
        id="m1",
        conversation_id="group:g1",
        seq=7,
        sender="alice",
        created_at=T0_DT,
        client_id="c-uuid",
        group_id="g1",
        text="hi",
        attachment=Attachment("https://f/x", "k", "image/png", 3),
        metadata={"k": [1]},
    )


@pytest.mark.parametrize(
    ("wire", "check"),
    [
        pytest.param(msg(), lambda m: m.text is None and m.attachment is None, id="minimal"),
        pytest.param(msg("7"), lambda m: m.seq == 7, id="seq-as-string"),
        pytest.param(msg(7.0), lambda m: m.seq == 7, id="seq-as-float"),
        pytest.param(msg(clientId="c1"), lambda m: m.client_id == "c1", id="camel-client_id"),
        pytest.param(msg(createdAt=T0), lambda m: m.created_at == T0_DT, id="camel-created_at"),
        pytest.param(msg(created_at="yesterday"), lambda m: m.created_at is None, id="bad-time"),
        pytest.param(msg(metadata="x"), lambda m: m.metadata == {}, id="metadata-not-object"),
        pytest.param(msg(metadata=None), lambda m: m.metadata == {}, id="metadata-null"),
        pytest.param(msg(attachment="x"), lambda m: m.attachment is None, id="attachment-junk"),
        pytest.param(msg(to="b"), lambda m: m.to == "b", id="dm-to"),
        pytest.param(msg(extra=1), lambda m: m.id == "m1", id="unknown-field"),
        pytest.param(
            {"id": 5, "conversation_id": "c", "seq": 1},
            lambda m: m.id == "5" and m.sender == "",
            id="numeric-id-no-from",
        ),
    ],
)
def test_parse_message_tolerates(wire: dict[str, Any], check: Any) -> None:
    assert check(parse_message(wire))


@pytest.mark.parametrize(
    ("wire", "missing"),
    [
        pytest.param({"conversation_id": "c", "seq": 1}, "id", id="no-id"),
        pytest.param({"id": "", "conversation_id": "c", "seq": 1}, "id", id="empty-id"),
        pytest.param({"id": "m", "seq": 1}, "conversation_id", id="no-conversation"),
        pytest.param({"id": "m", "conversation_id": "c"}, "seq", id="no-seq"),
        pytest.param({"id": "m", "conversation_id": "c", "seq": "x"}, "seq", id="junk-seq"),
        pytest.param({"id": "m", "conversation_id": "c", "seq": 1.5}, "seq", id="fraction-seq"),
    ],
)
def test_parse_message_requires_id_conversation_and_seq(wire: dict[str, Any], missing: str) -> None:
    with pytest.raises(WireFormatError, match=missing):
        parse_message(wire)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {"url": "u", "key": "k", "content_type": "a/b", "size": 9, "name": "n.txt"},
            Attachment("u", "k", "a/b", 9, "n.txt"),
            id="full",
        ),
        pytest.param(
            {"url": "u", "contentType": "a/b", "size": "9"},
            Attachment("u", "", "a/b", 9),
            id="camel-and-string-size",
        ),
        pytest.param(
            {"url": "u"}, Attachment("u", "", "application/octet-stream", 0), id="url-only"
        ),
        pytest.param({"key": "k"}, None, id="no-url"),
        pytest.param(None, None, id="None"),
        pytest.param(["u"], None, id="list"),
    ],
)
def test_parse_attachment(value: object, expected: Attachment | None) -> None:
    assert parse_attachment(value) == expected


# --- history -----------------------------------------------------------------------------------


def test_parse_history_sorts_by_seq_and_skips_unusable_items() -> None:
    page = parse_history(
        {
            "data": [
                msg(3),
                "junk",
                msg(1),
                {"id": "no-seq", "conversation_id": "c"},
                None,
                msg(2),
            ],
            "has_more": True,
        }
    )
    assert [m.seq for m in page.messages] == [1, 2, 3]
    assert page.has_more is True


@pytest.mark.parametrize(
    ("wire", "count", "has_more"),
    [
        pytest.param({}, 0, False, id="empty-object"),
        pytest.param({"data": None, "has_more": None}, 0, False, id="nulls"),
        pytest.param({"data": "x", "has_more": "yes"}, 0, True, id="data-not-list"),
        pytest.param({"data": [msg()], "hasMore": "true"}, 1, True, id="camel-has_more"),
        pytest.param({"data": [msg()], "has_more": 0}, 1, False, id="has_more-0"),
    ],
)
def test_parse_history_odd_pages(wire: dict[str, Any], count: int, has_more: bool) -> None:
    page = parse_history(wire)
    assert len(page.messages) == count
    assert page.has_more is has_more


# --- groups ------------------------------------------------------------------------------------


def test_parse_group_full() -> None:
    wire = {
        "group_id": "g1",
        "name": "Team",
        "owner": "alice",
        "members": [{"user_id": "alice", "role": "owner"}, {"userId": "bob", "role": "admin"}],
        "created_at": T0,
    }
    group = parse_group(wire)
    assert group == Group(
        "g1", "Team", "alice", (GroupMember("alice", "owner"), GroupMember("bob", "admin")), T0_DT
    )
    assert group.conversation_id == "group:g1"


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        pytest.param({"group_id": "g"}, Group("g", "", "", ()), id="minimal"),
        pytest.param({"groupId": "g"}, Group("g", "", "", ()), id="camel-id"),
        pytest.param(
            {
                "group_id": "g",
                "members": [{"user_id": "a"}, {"role": "admin"}, "x", None, {"user_id": ""}],
            },
            Group("g", "", "", (GroupMember("a", "member"),)),
            id="members-odd-items",
        ),
        pytest.param(
            {"group_id": "g", "members": {"a": "owner"}},
            Group("g", "", "", ()),
            id="members-object",
        ),
    ],
)
def test_parse_group_tolerates(wire: dict[str, Any], expected: Group) -> None:
    assert parse_group(wire) == expected


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param({}, id="empty"),
        pytest.param({"group_id": ""}, id="empty-id"),
        pytest.param({"group_id": None, "name": "x"}, id="null-id"),
    ],
)
def test_parse_group_requires_group_id(wire: dict[str, Any]) -> None:
    with pytest.raises(WireFormatError, match="group_id"):
        parse_group(wire)


# --- presence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        pytest.param(
            {"user_id": "a", "online": True, "last_seen_at": None},
            PresenceInfo("a", True),
            id="online",
        ),
        pytest.param(
            {"user_id": "a", "online": False, "last_seen_at": T0},
            PresenceInfo("a", False, T0_DT),
            id="offline",
        ),
        pytest.param(
            {"userId": "a", "online": "true", "lastSeenAt": T0},
            PresenceInfo("a", True, T0_DT),
            id="camel",
        ),
        pytest.param({"user_id": "a"}, PresenceInfo("a", False), id="minimal"),
        pytest.param(
            {"user_id": "a", "online": "junk"}, PresenceInfo("a", False), id="junk-online"
        ),
    ],
)
def test_parse_presence(wire: dict[str, Any], expected: PresenceInfo) -> None:
    assert parse_presence(wire) == expected


def test_parse_presence_requires_user_id() -> None:
    with pytest.raises(WireFormatError, match="user_id"):
        parse_presence({"online": True})


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        pytest.param(
            [{"user_id": "a"}, {"online": True}, "x", {"user_id": "b"}], ["a", "b"], id="skips-bad"
        ),
        pytest.param([], [], id="empty"),
        pytest.param(None, [], id="None"),
        pytest.param({"user_id": "a"}, [], id="object-not-list"),
    ],
)
def test_parse_presence_list(value: object, ids: list[str]) -> None:
    assert [p.user_id for p in parse_presence_list(value)] == ids


# --- conversations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        pytest.param(
            {"conversation_id": "dm:a:b", "kind": "dm", "last_message": msg(), "unread": 2},
            Conversation("dm:a:b", "dm", parse_message(msg()), 2),
            id="full",
        ),
        pytest.param({"conversation_id": "c"}, Conversation("c", "dm", None, 0), id="minimal"),
        pytest.param(
            {"conversationId": "group:g", "kind": "group", "lastMessage": msg(), "unread": "3"},
            Conversation("group:g", "group", parse_message(msg()), 3),
            id="camel-and-string-unread",
        ),
        pytest.param(
            {"conversation_id": "c", "last_message": {"id": "broken"}, "unread": None},
            Conversation("c", "dm", None, 0),
            id="broken-last-message",
        ),
        pytest.param(
            {"conversation_id": "c", "last_message": "x", "unread": "many"},
            Conversation("c", "dm", None, 0),
            id="junk",
        ),
    ],
)
def test_parse_conversation(wire: dict[str, Any], expected: Conversation) -> None:
    assert parse_conversation(wire) == expected


def test_parse_conversation_requires_its_id() -> None:
    with pytest.raises(WireFormatError, match="conversation_id"):
        parse_conversation({"kind": "dm"})


# --- upload tickets ----------------------------------------------------------------------------

_TICKET = {
    "upload_url": "https://store/put?X-Signature=SECRET",
    "method": "PUT",
    "headers": {"Content-Type": "image/png"},
    "file_url": "https://store/f/k",
    "key": "k",
    "expires_in": 600,
}


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        pytest.param(
            _TICKET,
            UploadTicket(
                "https://store/put?X-Signature=SECRET",
                "PUT",
                {"Content-Type": "image/png"},
                "https://store/f/k",
                "k",
                600.0,
            ),
            id="full",
        ),
        pytest.param(
            {"upload_url": "u", "file_url": "f"},
            UploadTicket("u", "PUT", {}, "f", ""),
            id="minimal",
        ),
        pytest.param(
            {"uploadUrl": "u", "fileUrl": "f", "method": "put", "expiresIn": "60"},
            UploadTicket("u", "PUT", {}, "f", "", 60.0),
            id="camel-lowercase-method",
        ),
        pytest.param(
            {"upload_url": "u", "file_url": "f", "headers": {"Content-Length": 3}},
            UploadTicket("u", "PUT", {"Content-Length": "3"}, "f", ""),
            id="header-values-are-strings",
        ),
        pytest.param(
            {"upload_url": "u", "file_url": "f", "headers": ["x"]},
            UploadTicket("u", "PUT", {}, "f", ""),
            id="headers-not-object",
        ),
    ],
)
def test_parse_upload_ticket(wire: dict[str, Any], expected: UploadTicket) -> None:
    assert parse_upload_ticket(wire) == expected


@pytest.mark.parametrize(
    ("wire", "missing"),
    [
        pytest.param({"file_url": "f"}, "upload_url", id="no-upload_url"),
        pytest.param({"upload_url": "u"}, "file_url", id="no-file_url"),
    ],
)
def test_parse_upload_ticket_requires_urls(wire: dict[str, Any], missing: str) -> None:
    with pytest.raises(WireFormatError, match=missing):
        parse_upload_ticket(wire)


def test_upload_ticket_repr_hides_the_presigned_url() -> None:
    assert "SECRET" not in repr(parse_upload_ticket(_TICKET))
