"""The mint reply and capability snapshots (protocol §2, §7 capabilities.updated, §9)."""

from __future__ import annotations

from typing import Any

import pytest

from utd_trio._models import Capabilities, PlanLimits, Session
from utd_trio._protocol._parse import (
    WireFormatError,
    parse_capabilities,
    parse_limits,
    parse_session,
)

# --- parse_limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {
                "history_days": 30,
                "max_group_members": 256,
                "max_friends": 1000,
                "max_chatrooms": 50,
            },
            PlanLimits(30, 256, 1000, 50),
            id="doc-example",
        ),
        pytest.param(
            {
                "historyDays": "30",
                "maxGroupMembers": 256.0,
                "maxFriends": "1000",
                "maxChatrooms": 5,
            },
            PlanLimits(30, 256, 1000, 5),
            id="camelCase-and-varying-types",
        ),
        pytest.param({}, PlanLimits(), id="empty-object-all-unknown"),
        pytest.param({"history_days": None}, PlanLimits(), id="null-field-unknown"),
        pytest.param({"history_days": 0}, PlanLimits(history_days=0), id="zero-is-a-value"),
        pytest.param({"history_days": -1}, PlanLimits(), id="negative-unknown"),
        pytest.param({"max_chatrooms": "-5"}, PlanLimits(), id="negative-string-unknown"),
        pytest.param({"history_days": 7.5}, PlanLimits(), id="fraction-unknown"),
        pytest.param({"history_days": True}, PlanLimits(), id="bool-unknown"),
        pytest.param({"history_days": "lots"}, PlanLimits(), id="junk-unknown"),
        pytest.param({"history_days": 30, "future_limit": 9}, PlanLimits(30), id="unknown-field"),
        pytest.param(None, None, id="None"),
        pytest.param([30, 256], None, id="list"),
        pytest.param("30", None, id="string"),
        pytest.param(30, None, id="number"),
    ],
)
def test_parse_limits(value: object, expected: PlanLimits | None) -> None:
    assert parse_limits(value) == expected


# --- parse_capabilities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "signaling", "chat"),
    [
        pytest.param({}, None, None, id="missing-is-unknown"),
        pytest.param(
            {"signaling_enabled": None, "messaging_enabled": None}, None, None, id="null-unknown"
        ),
        pytest.param(
            {"signaling_enabled": True, "messaging_enabled": False}, True, False, id="snake"
        ),
        pytest.param(
            {"signalingEnabled": False, "messagingEnabled": True}, False, True, id="camel"
        ),
        pytest.param(
            {"signaling_enabled": "true", "messaging_enabled": "false"}, True, False, id="strings"
        ),
        pytest.param({"signaling_enabled": 1, "messaging_enabled": 0}, True, False, id="ints"),
        pytest.param(
            {"signaling_enabled": "perhaps", "messaging_enabled": [True]},
            None,
            None,
            id="junk-unknown-not-false",
        ),
        pytest.param({"chat_enabled": True}, None, None, id="chat_enabled-is-not-the-wire-name"),
    ],
)
def test_parse_capabilities_flags(
    obj: dict[str, Any], signaling: bool | None, chat: bool | None
) -> None:
    caps = parse_capabilities(obj)
    assert caps.signaling_enabled is signaling
    assert caps.chat_enabled is chat


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({}, None, id="missing"),
        pytest.param({"limits": None}, None, id="null"),
        pytest.param({"limits": "n/a"}, None, id="not-an-object"),
        pytest.param(
            {"limits": {"max_group_members": 8}}, PlanLimits(max_group_members=8), id="snake"
        ),
        pytest.param(
            {"limits": {"maxGroupMembers": "8"}}, PlanLimits(max_group_members=8), id="camel"
        ),
        pytest.param({"Limits": {"max_group_members": 8}}, None, id="wrong-case-key"),
    ],
)
def test_parse_capabilities_limits(obj: dict[str, Any], expected: PlanLimits | None) -> None:
    assert parse_capabilities(obj).plan_limits == expected


def test_capabilities_updated_snapshot_is_parsed_like_a_mint() -> None:
    snapshot = {"signalingEnabled": "1", "messaging_enabled": 0.0, "limits": {"historyDays": "7"}}
    assert parse_capabilities(snapshot) == Capabilities(True, False, PlanLimits(history_days=7))


def test_unknown_is_distinct_from_false() -> None:
    unknown = parse_capabilities({})
    disabled = parse_capabilities({"signaling_enabled": False, "messaging_enabled": False})
    assert unknown.signaling_enabled is None
    assert unknown.chat_enabled is None
    assert unknown != disabled


# --- parse_session -----------------------------------------------------------------------------

_MINT = {
    "user_token": "tok-SECRET-123",
    "ws_url": "wss://engine.example/ws",
    "expires_in": 3600,
    "signaling_enabled": True,
    "messaging_enabled": False,
    "limits": {
        "history_days": 30,
        "max_group_members": 256,
        "max_friends": 1000,
        "max_chatrooms": 50,
    },
}


def test_parse_session_doc_example() -> None:
    session = parse_session(_MINT)
    assert session == Session(
        user_token="tok-SECRET-123",
        ws_url="wss://engine.example/ws",
        expires_in=3600.0,
        signaling_enabled=True,
        chat_enabled=False,
        plan_limits=PlanLimits(30, 256, 1000, 50),
    )
    assert session.capabilities == Capabilities(True, False, PlanLimits(30, 256, 1000, 50))


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            {"user_token": "t", "ws_url": "wss://h/ws"},
            Session("t", "wss://h/ws"),
            id="minimal-everything-unknown",
        ),
        pytest.param(
            {"userToken": "t", "wsUrl": "wss://h/ws", "expiresIn": "60"},
            Session("t", "wss://h/ws", expires_in=60.0),
            id="camelCase",
        ),
        pytest.param(
            {"user_token": "t", "ws_url": "wss://h/ws", "expires_in": "never", "limits": []},
            Session("t", "wss://h/ws"),
            id="junk-optional-fields",
        ),
        pytest.param(
            {"user_token": "t", "ws_url": "wss://h/ws", "expires_in": int("1" + "0" * 400)},
            Session("t", "wss://h/ws"),
            id="huge-expires_in",
        ),
        pytest.param(
            {"user_token": "t", "ws_url": "wss://h/ws", "unknown": {"x": 1}},
            Session("t", "wss://h/ws"),
            id="unknown-fields-ignored",
        ),
    ],
)
def test_parse_session_tolerates_odd_replies(obj: dict[str, Any], expected: Session) -> None:
    assert parse_session(obj) == expected


@pytest.mark.parametrize(
    ("obj", "missing"),
    [
        pytest.param({"ws_url": "wss://h/ws"}, "user_token", id="no-token"),
        pytest.param({"user_token": "", "ws_url": "wss://h/ws"}, "user_token", id="empty-token"),
        pytest.param({"user_token": None, "ws_url": "wss://h/ws"}, "user_token", id="null-token"),
        pytest.param({"user_token": ["t"], "ws_url": "wss://h/ws"}, "user_token", id="list-token"),
        pytest.param({"user_token": "t"}, "ws_url", id="no-ws_url"),
        pytest.param({"user_token": "t", "ws_url": ""}, "ws_url", id="empty-ws_url"),
        pytest.param({"user_token": "t", "ws_url": {"u": 1}}, "ws_url", id="object-ws_url"),
        pytest.param({}, "user_token", id="empty"),
    ],
)
def test_parse_session_requires_token_and_ws_url(obj: dict[str, Any], missing: str) -> None:
    with pytest.raises(WireFormatError, match=missing):
        parse_session(obj)


def test_session_repr_and_str_never_show_the_token() -> None:
    session = parse_session(_MINT)
    for text in (repr(session), str(session), f"{session}", repr([session])):
        assert "tok-SECRET-123" not in text
        assert "SECRET" not in text
    assert "***" in repr(session)
    assert "wss://engine.example/ws" in repr(session)


def test_session_keeps_the_token_for_use() -> None:
    assert parse_session(_MINT).user_token == "tok-SECRET-123"
