"""The sans-IO channel core: member differences, the client-event window, Pusher grants."""

from __future__ import annotations

import hashlib
import hmac

import pusher
import pytest

from utd_trio import ChannelMemberAdded, ChannelMemberRemoved, ChannelResubscribed, UTDApi
from utd_trio._protocol._channels import ChannelTable, ClientEventLimiter, sign_grant


def ack(*members: tuple[str, dict[str, object]]) -> dict[str, object]:
    return {"members": [{"user_id": u, "user_info": i} for u, i in members]}


def test_first_subscription_publishes_nothing_and_sets_members() -> None:
    table = ChannelTable()
    table.hold("presence-r", {"n": 1})
    assert table.subscribed("presence-r", 1, ack(("a", {"n": 1}), ("b", {}))) == []
    assert table.members("presence-r") == {"a": {"n": 1}, "b": {}}


def test_resubscription_reports_the_gap_then_the_signal() -> None:
    table = ChannelTable()
    table.hold("presence-r", None)
    table.subscribed("presence-r", 1, ack(("a", {}), ("b", {})))
    view = table.members("presence-r")
    events = table.subscribed("presence-r", 2, ack(("a", {}), ("c", {"x": 1})))
    assert events == [
        ChannelMemberAdded("presence-r", "c", {"x": 1}),
        ChannelMemberRemoved("presence-r", "b"),
        ChannelResubscribed("presence-r", 2),
    ]
    assert view == {"a": {}, "c": {"x": 1}}  # a view handed out earlier stays live
    assert table.subscribed("presence-r", 2, ack(("a", {}))) == []  # same connection: quiet
    assert view == {"a": {}}
    assert table.generation("presence-r") == 2


def test_a_refused_resubscription_is_reported_and_members_cleared() -> None:
    table = ChannelTable()
    table.hold("presence-r", None)
    table.subscribed("presence-r", 1, ack(("a", {})))
    assert table.refused("presence-r", 2, "forbidden") == [
        ChannelResubscribed("presence-r", 2, "forbidden")
    ]
    assert table.members("presence-r") == {}


def test_holders_are_counted() -> None:
    table = ChannelTable()
    table.hold("c", None)
    table.hold("c", None)
    assert table.release("c") is False
    assert table.release("c") is True
    assert "c" not in table
    assert table.release("c") is False


def test_live_member_events_update_the_map() -> None:
    table = ChannelTable()
    table.hold("presence-r", None)
    table.on_event(ChannelMemberAdded("presence-r", "z", {"k": "v"}))
    table.on_event(ChannelMemberAdded("presence-other", "y", {}))
    assert table.members("presence-r") == {"z": {"k": "v"}}
    table.on_event(ChannelMemberRemoved("presence-r", "z"))
    assert table.members("presence-r") == {}


def test_the_limiter_spaces_events_over_a_sliding_window() -> None:
    limiter = ClientEventLimiter(limit=3, window=1.0)
    for t in (0.0, 0.1, 0.2):
        assert limiter.delay(t, 1) == 0.0
        limiter.sent(t)
    assert limiter.delay(0.3, 1) == pytest.approx(0.7)
    assert limiter.delay(0.95, 1) == pytest.approx(0.05)
    assert limiter.delay(1.0, 1) == 0.0
    assert limiter.delay(0.3, 2) == 0.0  # a new socket starts a new window


def test_private_grants_match_the_pusher_library_byte_for_byte() -> None:
    reference = pusher.Pusher(app_id="1", key="key", secret="secret")
    expected = reference.authenticate(channel="private-doc", socket_id="123.456")
    api = UTDApi(app_id="1", app_secret="secret", base_url="http://127.0.0.1:1")
    assert api.authorize_channel("123.456", "private-doc", app_key="key") == expected


def test_presence_grants_sign_channel_data_exactly_as_sent() -> None:
    reference = pusher.Pusher(app_id="1", key="key", secret="secret")
    member = {"user_id": "alice", "user_info": {"name": "Ålice"}}
    theirs = reference.authenticate(channel="presence-r", socket_id="1.2", custom_data=member)
    assert sign_grant("key", "secret", "1.2", "presence-r", theirs["channel_data"]) == theirs
    api = UTDApi(app_id="1", app_secret="secret", base_url="http://127.0.0.1:1")
    ours = api.authorize_channel("1.2", "presence-r", "alice", {"name": "Ålice"}, app_key="key")
    data = ours["channel_data"]
    assert data == '{"user_id":"alice","user_info":{"name":"Ålice"}}'
    digest = hmac.new(b"secret", f"1.2:presence-r:{data}".encode(), hashlib.sha256).hexdigest()
    assert ours["auth"] == f"key:{digest}"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("1.2", "public"), "need no grant"),
        (("1.2", "presence-r"), "user_id is required"),
        (("1.2", "private-r", "alice"), "presence- channels only"),
        (("1.2", "bad name"), "channel_name must be"),
    ],
)
def test_authorize_channel_refuses_what_no_engine_accepts(
    args: tuple[str, ...], match: str
) -> None:
    api = UTDApi(app_id="1", app_secret="secret", base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match=match):
        api.authorize_channel(*args, app_key="key")


def test_authorize_channel_needs_the_server_secret() -> None:
    api = UTDApi(app_id="1", app_key="key", base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="app_secret"):
        api.authorize_channel("1.2", "private-r", app_key="key")
