"""The steps of ``utd-trio demo``, in order. Each acts, then waits for the events it must cause.

A step returns a one-line summary of what it verified, or raises `StepFailed` (a timeout is
reported by the runner with what the step was waiting for).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .._events import (
    CapabilitiesChanged,
    Connected,
    Disconnected,
    MessageReceived,
    RecoveryFinished,
)
from ._demo_calls import accepted_call, presence, rejected_call
from ._demo_cast import Stage, StepFailed
from ._demo_chat import direct_chat, group_chat, media_upload, push_token
from ._demo_rooms import rooms
from ._format import describe_capabilities

__all__ = ["STEPS", "Step"]


@dataclass(frozen=True)
class Step:
    """One verified step of the demo."""

    name: str
    title: str
    run: Callable[[Stage], Awaitable[str]]


async def capabilities(stage: Stage) -> str:
    """Connect alice and bob; show flags and limits; change the plan live."""
    alice = await stage.connect("alice")
    await stage.connect("bob")
    caps = alice.sig.capabilities
    if caps.signaling_enabled is not True or caps.chat_enabled is not True:
        raise StepFailed(f"expected signaling and chat on, got {describe_capabilities(caps)}")
    limits = caps.plan_limits
    if limits is None or limits.max_group_members is None:
        raise StepFailed("the mint carried no plan limits")
    raised = limits.max_group_members * 2
    mark = alice.mark()
    plan = dict(stage.engine.project().limits or {})
    await stage.engine.set_plan(limits={**plan, "max_group_members": raised})
    changed = await alice.expect(
        CapabilitiesChanged,
        lambda ev: (
            ev.new.plan_limits is not None and ev.new.plan_limits.max_group_members == raised
        ),
        since=mark,
        what="CapabilitiesChanged after a live plan change",
    )
    assert changed.new.plan_limits is not None
    return (
        f"signaling and chat on; plan changed live: max_group_members "
        f"{limits.max_group_members} -> {changed.new.plan_limits.max_group_members}"
    )


def _is_message(message_id: str) -> Callable[[MessageReceived], bool]:
    return lambda event: event.message.id == message_id


async def reconnect(stage: Stage) -> str:
    """Bob's socket stalls; alice sends him 3 messages; the socket drops; bob gets all 3."""
    alice, bob = stage["alice"], stage["bob"]
    b = bob.mark()
    stage.engine.stall_sockets("bob")
    stage.log.note(bob.name, "(engine) bob's socket stalls: nothing reaches bob now")
    sent = [
        await alice.sig.send_message(to="bob", text=f"while you were away #{n}") for n in (1, 2, 3)
    ]
    ids = {message.id for message in sent}
    dropped = await stage.engine.drop_sockets("bob", code=None)
    stage.log.note(bob.name, f"(engine) dropped {dropped} socket(s) of bob without a close frame")
    await bob.expect(Disconnected, since=b, what="Disconnected after the drop")
    back = await bob.expect(Connected, since=b, what="Connected again after the drop")
    for message in sent:
        await bob.expect(
            MessageReceived, _is_message(message.id), since=b, what=f"missed message #{message.seq}"
        )
    finished = await bob.expect(RecoveryFinished, since=b, what="RecoveryFinished")
    if not finished.complete:
        raise StepFailed(f"recovery incomplete: {finished.error}")
    got = [ev for ev in bob.received(MessageReceived, since=b) if ev.message.id in ids]
    if sorted(ev.message.id for ev in got) != sorted(ids):
        raise StepFailed(f"duplicates or losses among the missed messages: {got}")
    if not all(ev.recovered for ev in got):
        raise StepFailed("a message sent while bob's socket was dead arrived live")
    return (
        f"bob reconnected (generation {back.generation}) and got all {len(sent)} messages "
        "sent while his socket was dead, once each"
    )


STEPS: tuple[Step, ...] = (
    Step("capabilities", "capability flags and plan limits (and a live plan change)", capabilities),
    Step("presence", "presence: subscribe, then a user comes online", presence),
    Step("call", "a call: invite -> ringing -> accept -> end", accepted_call),
    Step("rejected-call", "a call that is declined", rejected_call),
    Step("chat", "1:1 chat with typing, delivered and read receipts", direct_chat),
    Step("group", "a group chat", group_chat),
    Step("push", "a push-token registration", push_token),
    Step("media", "a media presign + upload", media_upload),
    Step("reconnect", "a forced reconnect loses nothing", reconnect),
    Step("rooms", "a presence room: members, a client event, a broadcast, a resubscribe", rooms),
)
"""The demo's steps, in order."""
