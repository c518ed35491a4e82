"""Request bodies (protocol §6, §11): each builder's exact output and each refusal, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from utd_trio import Attachment
from utd_trio._protocol import _requests as build
from utd_trio._protocol import _vocab as v
from utd_trio.testing import _chat as engine_chat

ATTACHMENT = Attachment("https://cdn.example/a.png", "k/a.png", "image/png", 12, name="a.png")

# --- calls -----------------------------------------------------------------------------------


def test_call_invite_audio_is_the_default() -> None:
    body = build.call_invite("bob", me="alice", call_id="call_1")
    assert body == {v.FIELD_TO: "bob", v.FIELD_CALL_TYPE: v.CALL_AUDIO, v.FIELD_CALL_ID: "call_1"}
    assert body == {"to": "bob", "type": "audio", "call_id": "call_1"}  # §6 spelling


def test_call_invite_video_with_metadata() -> None:
    body = build.call_invite("bob", me="alice", video=True, metadata={"k": 1}, call_id="call_2")
    assert body == {"to": "bob", "type": "video", "call_id": "call_2", "metadata": {"k": 1}}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"to": "no one"}, ValueError, "^to must be"),
        ({"to": None}, ValueError, "^to must be"),
        ({"video": "yes"}, TypeError, "^video must be True or False"),
        ({"to": "alice"}, ValueError, "^you cannot call yourself$"),
        ({"metadata": [1]}, ValueError, "^metadata must be a JSON object"),
        ({"metadata": {"x": "a" * 20_000}}, ValueError, "^metadata is .* the limit is 16 KiB"),
        ({"call_id": ""}, ValueError, "^call_id must be a non-empty string"),
    ],
)
def test_call_invite_refusals(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"to": "bob", "me": "alice", "call_id": "call_3"} | kwargs
    with pytest.raises(error, match=match):
        build.call_invite(**args)


def test_call_invite_checks_the_callee_before_the_self_call() -> None:
    with pytest.raises(ValueError, match=r"^to must be"):
        build.call_invite("", me="", call_id="call_4")


CALL_ONLY: list[Callable[[object], dict[str, Any]]] = [
    build.call_ringing,
    build.call_accept,
    build.call_cancel,
    build.call_end,
]


@pytest.mark.parametrize("builder", CALL_ONLY)
def test_call_only_bodies(builder: Callable[[object], dict[str, Any]]) -> None:
    assert builder("call_5") == {v.FIELD_CALL_ID: "call_5"} == {"call_id": "call_5"}
    for bad in ("", "   ", None, 7):
        with pytest.raises(ValueError, match=r"^call_id must be a non-empty string"):
            builder(bad)


def test_call_reject_with_and_without_reason() -> None:
    assert build.call_reject("call_6") == {"call_id": "call_6"}
    assert build.call_reject("call_6", None) == {"call_id": "call_6"}
    for reason in v.REJECT_REASONS:
        assert build.call_reject("call_6", reason) == {"call_id": "call_6", "reason": reason}
    assert v.REJECT_REASONS == ("declined", "busy")


@pytest.mark.parametrize("reason", ["nope", "", "Busy", 1])
def test_call_reject_refuses_other_reasons(reason: object) -> None:
    with pytest.raises(ValueError, match=r"^reason must be one of declined, busy"):
        build.call_reject("call_7", reason)


def test_call_reject_checks_the_call_id_first() -> None:
    with pytest.raises(ValueError, match=r"^call_id"):
        build.call_reject("", "nope")


# --- chat ------------------------------------------------------------------------------------


def test_message_send_text_to_a_user() -> None:
    body = build.message_send("c-1", v.FIELD_TO, "bob", "hi")
    assert body == {v.FIELD_CLIENT_ID: "c-1", v.FIELD_TO: "bob", v.FIELD_TEXT: "hi"}
    assert list(body) == ["client_id", "to", "text"]


def test_message_send_everything_to_a_group() -> None:
    body = build.message_send("c-2", "group_id", "g1", "look", ATTACHMENT, {"m": True})
    assert body == {
        "client_id": "c-2",
        "group_id": "g1",
        "text": "look",
        "attachment": {
            "url": "https://cdn.example/a.png",
            "key": "k/a.png",
            "content_type": "image/png",
            "size": 12,
            "name": "a.png",
        },
        "metadata": {"m": True},
    }


def test_message_send_attachment_only() -> None:
    plain = Attachment("u", "k", "text/plain", 0)
    body = build.message_send("c-3", "to", "bob", attachment=plain)
    assert body == {"client_id": "c-3", "to": "bob", "attachment": plain.to_wire()}
    assert "name" not in body["attachment"]


def test_attachment_body_matches_the_model() -> None:
    assert build.attachment_body(ATTACHMENT) == ATTACHMENT.to_wire()


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("", "to", "bob", "hi"), ValueError, "^client_id must be"),
        (("c", "from", "bob", "hi"), ValueError, "^target_field must be one of to, group_id"),
        (("c", "to", "no one", "hi"), ValueError, "^to must be"),
        (("c", "group_id", " ", "hi"), ValueError, "^group_id must be a non-empty string"),
        (("c", "to", "bob"), ValueError, "^text or attachment: a message needs at least one"),
        (("c", "to", "bob", ""), ValueError, "^text must be a non-empty string"),
        (("c", "to", "bob", "x" * (v.MAX_TEXT_CHARS + 1)), ValueError, "^text is 4001 char"),
        (("c", "to", "bob", "a\ud800"), ValueError, "^text holds a lone surrogate"),
        (("c", "to", "bob", None, {"url": "u"}), TypeError, "^attachment must be an Attach"),
        (("c", "to", "bob", "hi", None, "m"), ValueError, "^metadata must be a JSON object"),
    ],
)
def test_message_send_refusals(args: tuple[Any, ...], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        build.message_send(*args)


def test_a_wrong_attachment_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="got dict"):
        build.message_send("c", "to", "bob", "hi", {"url": "u"})


def test_text_at_the_limit_is_sent() -> None:
    text = "é" * v.MAX_TEXT_CHARS
    assert build.message_send("c", "to", "bob", text)["text"] == text


def test_a_built_message_passes_the_reference_engines_checks() -> None:
    body = build.message_send("c-4", "to", "bob", "hello", ATTACHMENT, {"k": "v"})
    # The engine spells the contract itself; what it reads back is what was built.
    assert engine_chat._text(body["text"]) == "hello"  # pyright: ignore[reportPrivateUsage]
    assert engine_chat._attachment(body["attachment"]) == body["attachment"]  # pyright: ignore[reportPrivateUsage]
    assert len(body["client_id"]) <= engine_chat.MAX_CLIENT_ID


def test_receipt_mark() -> None:
    assert build.receipt_mark("dm:a:b", 0) == {"conversation_id": "dm:a:b", "up_to_seq": 0}
    assert build.receipt_mark("g:1", 42) == {v.FIELD_CONVERSATION_ID: "g:1", v.FIELD_UP_TO_SEQ: 42}


@pytest.mark.parametrize(
    ("cid", "seq", "match"),
    [
        ("", 1, "^conversation_id must be a non-empty string"),
        (None, 1, "^conversation_id"),
        ("c", -1, "^up_to_seq must be a non-negative integer"),
        ("c", True, "^up_to_seq"),
        ("c", "3", "^up_to_seq"),
        ("c", 1.0, "^up_to_seq"),
    ],
)
def test_receipt_mark_refusals(cid: object, seq: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build.receipt_mark(cid, seq)


# --- channels --------------------------------------------------------------------------------


def test_channel_subscribe_bodies() -> None:
    assert build.channel_subscribe("news") == {v.FIELD_CHANNEL: "news"} == {"channel": "news"}
    assert build.channel_subscribe("private-x", "k:sig") == {
        "channel": "private-x",
        "auth": "k:sig",
    }
    assert build.channel_subscribe("presence-x", "k:sig", '{"user_id":"a"}') == {
        "channel": "presence-x",
        "auth": "k:sig",
        "channel_data": '{"user_id":"a"}',
    }
    # "" is carried (the signature ends in ":"); None leaves the field out.
    assert build.channel_subscribe("private-x", "k:sig", "")["channel_data"] == ""


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("bad name",), ValueError, "^channel must be 1"),
        ((7,), TypeError, "^channel must be a str"),
        (("private-encrypted-x", "k:s"), ValueError, "^channel: encrypted channels"),
        (("private-x", ""), ValueError, "^auth must be a non-empty string"),
        (("presence-x", "k:s", {"user_id": "a"}), TypeError, "^channel_data must be a JSON str"),
    ],
)
def test_channel_subscribe_refusals(
    args: tuple[Any, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build.channel_subscribe(*args)


def test_channel_unsubscribe() -> None:
    assert build.channel_unsubscribe("presence-room") == {"channel": "presence-room"}
    with pytest.raises(ValueError, match=r"^channel must be"):
        build.channel_unsubscribe("")


@pytest.mark.parametrize("data", [None, 0, "x", [1, 2], {"a": {"b": None}}])
def test_channel_trigger_carries_any_json_data(data: object) -> None:
    body = build.channel_trigger("private-x", "client-ping", data)
    assert body == {"channel": "private-x", "event": "client-ping", "data": data}
    assert list(body) == [v.FIELD_CHANNEL, v.FIELD_EVENT, v.FIELD_EVENT_DATA]


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("news", "client-a", 1), ValueError, "client events need a private- or presence-"),
        (("bad name", "client-a", 1), ValueError, "^channel must be 1"),
        (("private-x", "ping", 1), ValueError, "^event must start with 'client-'"),
        (("private-x", "client-" + "a" * 200, 1), ValueError, "^event must start with"),
        (("private-x", 5, 1), TypeError, "^event must be a str"),
        (("private-x", "client-a", "x" * 11_000), ValueError, "^data is .* the limit is 10240"),
        (("private-x", "client-a", {1, 2}), TypeError, "^data must be JSON-serializable"),
    ],
)
def test_channel_trigger_refusals(
    args: tuple[Any, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build.channel_trigger(*args)
