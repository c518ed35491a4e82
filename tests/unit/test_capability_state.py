"""`CapabilityState` in memory: what each mint and each capabilities.updated frame publishes."""

from __future__ import annotations

from utd_trio import CapabilitiesChanged
from utd_trio._models import Capabilities, Session
from utd_trio._protocol import _vocab as v
from utd_trio._protocol._capabilities import CapabilityState


def _session(*, signaling: bool | None, chat: bool | None) -> Session:
    return Session(
        user_token="t",
        ws_url="ws://127.0.0.1:1/ws",
        expires_in=None,
        signaling_enabled=signaling,
        chat_enabled=chat,
        plan_limits=None,
    )


def test_the_first_generation_publishes_nothing_and_later_ones_publish_changes_only() -> None:
    state = CapabilityState()
    assert state.current == Capabilities()
    assert state.on_session(_session(signaling=True, chat=True), generation=1) is None
    assert state.current.chat_enabled is True
    # The same flags on a reconnect: nothing to say.
    assert state.on_session(_session(signaling=True, chat=True), generation=2) is None
    changed = state.on_session(_session(signaling=True, chat=False), generation=3)
    assert changed == CapabilitiesChanged(
        Capabilities(signaling_enabled=True, chat_enabled=True),
        Capabilities(signaling_enabled=True, chat_enabled=False),
    )


def test_an_update_frame_is_a_full_snapshot_and_unknown_is_none_not_false() -> None:
    state = CapabilityState()
    state.on_session(_session(signaling=True, chat=True), generation=1)
    changed = state.on_update({v.MINT_SIGNALING_ENABLED: False}, generation=1)
    assert changed is not None
    assert changed.new.signaling_enabled is False
    assert changed.new.chat_enabled is None  # absent from the snapshot: unknown
    assert state.on_update({v.MINT_SIGNALING_ENABLED: False}, generation=1) is None


def test_an_update_before_any_connection_is_kept_but_not_published() -> None:
    state = CapabilityState()
    assert state.on_update({v.MINT_CHAT_ENABLED: True}, generation=0) is None
    assert state.current.chat_enabled is True
