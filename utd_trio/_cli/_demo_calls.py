"""Demo steps of the signaling capability: presence and 1:1 calls."""

from __future__ import annotations

from .._events import (
    CallAccepted,
    CallEnded,
    CallIncoming,
    CallRejected,
    CallRinging,
    PresenceChanged,
)
from ._demo_cast import Stage, StepFailed

__all__ = ["accepted_call", "presence", "rejected_call"]


async def presence(stage: Stage) -> str:
    """Alice subscribes to bob (online) and carol (offline); then carol comes online."""
    alice = stage["alice"]
    snapshot = {info.user_id: info for info in await alice.sig.subscribe_presence(["bob", "carol"])}
    for info in snapshot.values():
        state = "online" if info.online else "offline"
        stage.log.note(alice.name, f"presence of {info.user_id}: {state}", presence=info)
    if not (snapshot.get("bob") and snapshot["bob"].online):
        raise StepFailed(f"expected bob online in the snapshot, got {snapshot.get('bob')}")
    if snapshot.get("carol") is None or snapshot["carol"].online:
        raise StepFailed(f"expected carol offline in the snapshot, got {snapshot.get('carol')}")
    mark = alice.mark()
    await stage.connect("carol")
    await alice.expect(
        PresenceChanged,
        lambda ev: ev.user_id == "carol" and ev.online,
        since=mark,
        what="PresenceChanged(carol online)",
    )
    return "alice saw bob online and carol offline, then saw carol come online"


async def accepted_call(stage: Stage) -> str:
    """Alice calls bob: incoming → ringing → accepted → alice hangs up → ended."""
    alice, bob = stage["alice"], stage["bob"]
    a, b = alice.mark(), bob.mark()
    call = await alice.sig.invite("bob", metadata={"topic": "demo"})
    cid = call.call_id
    incoming = await bob.expect(
        CallIncoming, lambda ev: ev.call_id == cid, since=b, what=f"CallIncoming {cid}"
    )
    if incoming.caller != "alice" or incoming.metadata.get("topic") != "demo":
        raise StepFailed(f"unexpected invitation: {incoming}")
    await bob.sig.ringing(cid)
    await alice.expect(CallRinging, lambda ev: ev.call_id == cid, since=a, what="CallRinging")
    answer = await bob.sig.accept_call(cid)
    accepted = await alice.expect(
        CallAccepted, lambda ev: ev.call_id == cid, since=a, what="CallAccepted"
    )
    if accepted.by != "bob":
        raise StepFailed(f"call accepted by {accepted.by!r}, expected bob")
    duration = await alice.sig.end_call(cid)
    ended = await bob.expect(CallEnded, lambda ev: ev.call_id == cid, since=b, what="CallEnded")
    if ended.by != "alice":
        raise StepFailed(f"call ended by {ended.by!r}, expected alice")
    room = f" in room {answer.room_name}" if answer.room_name else ""
    return f"{cid}: ringing, accepted by bob{room}, ended by alice after {duration} s"


async def rejected_call(stage: Stage) -> str:
    """Alice calls carol, who declines."""
    alice, carol = stage["alice"], stage["carol"]
    a, c = alice.mark(), carol.mark()
    call = await alice.sig.invite("carol", video=True)
    cid = call.call_id
    incoming = await carol.expect(
        CallIncoming, lambda ev: ev.call_id == cid, since=c, what=f"CallIncoming {cid}"
    )
    if not incoming.video:
        raise StepFailed("the invitation lost its video flag")
    await carol.sig.reject_call(cid, reason="declined")
    rejected = await alice.expect(
        CallRejected, lambda ev: ev.call_id == cid, since=a, what="CallRejected"
    )
    if rejected.by != "carol" or rejected.reason != "declined":
        raise StepFailed(f"unexpected rejection: {rejected}")
    return f"{cid}: video call declined by carol"
