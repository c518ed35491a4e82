"""Demo step of the signaling capability's rooms (contract §11): a presence channel.

Alice and bob join one presence room and see each other; bob's client event reaches alice;
the backend's broadcast (server secret) reaches both; bob's socket is dropped, and once he is
back his session has subscribed the room again by itself, members intact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import Channel, UTDApi
from .._events import (
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Connected,
    Disconnected,
)
from ._demo_cast import DemoUser, Stage, StepFailed

__all__ = ["ROOM", "rooms"]

ROOM = "presence-demo-room"
"""The demo's room."""

_BOTH = {"alice", "bob"}


def _check_members(user: DemoUser, room: Channel, when: str) -> None:
    if set(room.members) != _BOTH:
        raise StepFailed(f"{when}, {user.name} sees members {sorted(room.members)}, not both")


def _note_members(stage: Stage, user: DemoUser, room: Channel, what: str) -> None:
    members: Mapping[str, Mapping[str, Any]] = dict(room.members)
    names = ", ".join(f"{name} ({info.get('name', '?')})" for name, info in members.items())
    stage.log.note(user.name, f"{ROOM}: {what}; members: {names}", members=members)


def _after(user: DemoUser, event: object, since: int) -> int:
    """The history position just after ``event`` (itself, not an equal one) past ``since``."""
    return next(i for i in range(since, len(user.history)) if user.history[i] is event) + 1


async def rooms(stage: Stage) -> str:
    """Join, a client event, a backend broadcast, then a dropped socket that resubscribes."""
    alice, bob = stage["alice"], stage["bob"]
    a = alice.mark()
    async with (
        alice.sig.subscribe_channel(ROOM, {"name": "Alice"}) as alice_room,
        bob.sig.subscribe_channel(ROOM, {"name": "Bob"}) as bob_room,
    ):
        _note_members(stage, bob, bob_room, "bob joined")
        _check_members(bob, bob_room, "on joining")
        await alice.expect(
            ChannelMemberAdded,
            lambda ev: ev.channel == ROOM and ev.user_id == "bob",
            since=a,
            what=f"ChannelMemberAdded(bob) on {ROOM}",
        )
        _check_members(alice, alice_room, "after bob joined")

        a, b = alice.mark(), bob.mark()
        await bob_room.trigger("client-wave", {"text": "hi alice"})
        wave = await alice.expect(
            ChannelEvent,
            lambda ev: ev.channel == ROOM and ev.event == "client-wave",
            since=a,
            what="bob's client-wave",
        )
        if wave.user_id != "bob" or wave.data != {"text": "hi alice"}:
            raise StepFailed(f"unexpected client event: {wave}")

        project = stage.engine.default_project
        stage.log.note(None, f"(backend) broadcasts 'announcement' to {ROOM} with the secret")
        async with UTDApi(
            app_id=project.app_id, app_secret=project.app_secret, base_url=stage.engine.base_url
        ) as backend:
            await backend.broadcast(ROOM, "announcement", {"text": "welcome, both"})
        for user, since in ((alice, a), (bob, b)):
            await user.expect(
                ChannelEvent,
                lambda ev: ev.channel == ROOM and ev.event == "announcement",
                since=since,
                what="the backend's broadcast",
            )
        if bob.received(ChannelEvent, since=b)[0].event != "announcement":
            raise StepFailed("bob got his own client event back")

        a, b = alice.mark(), bob.mark()
        await stage.engine.drop_sockets("bob", code=None)
        stage.log.note(bob.name, "(engine) dropped bob's socket without a close frame")
        await bob.expect(Disconnected, since=b, what="Disconnected after the drop")
        back = await bob.expect(Connected, since=b, what="Connected again after the drop")
        again = await bob.expect(
            ChannelResubscribed,
            lambda ev: ev.channel == ROOM,
            since=b,
            what=f"ChannelResubscribed({ROOM})",
        )
        if again.error is not None:
            raise StepFailed(f"the room was not subscribed again: {again.error}")
        _check_members(bob, bob_room, "after the reconnect")
        _note_members(stage, bob, bob_room, "bob is back")
        left = await alice.expect(
            ChannelMemberRemoved,
            lambda ev: ev.channel == ROOM and ev.user_id == "bob",
            since=a,
            what="ChannelMemberRemoved(bob) when his socket dropped",
        )
        await alice.expect(
            ChannelMemberAdded,
            lambda ev: ev.channel == ROOM and ev.user_id == "bob",
            since=_after(alice, left, a),
            what="ChannelMemberAdded(bob) once he resubscribed",
        )
        _check_members(alice, alice_room, "after bob came back")
    return (
        f"{ROOM}: both saw both; bob's client event reached alice only; the backend's "
        f"broadcast reached both; after a dropped socket bob resubscribed by himself "
        f"(generation {back.generation}), members intact"
    )
