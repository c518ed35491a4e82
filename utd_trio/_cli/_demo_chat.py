"""Demo steps of the chat capability: groups, push tokens and media uploads."""

from __future__ import annotations

import httpx

from .._events import GroupChanged
from ._demo_cast import Stage, StepFailed

__all__ = ["group_chat", "media_upload", "push_token"]

_PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


async def group_chat(stage: Stage) -> str:
    """Alice creates a group with bob and carol; both are told."""
    alice, bob, carol = stage["alice"], stage["bob"], stage["carol"]
    b, c = bob.mark(), carol.mark()
    group = await alice.sig.create_group("demo team", ["bob", "carol"])
    gid = group.group_id
    for member, since in ((bob, b), (carol, c)):
        await member.expect(
            GroupChanged,
            lambda ev: ev.group.group_id == gid and ev.change == "created",
            since=since,
            what=f"GroupChanged(created) for {gid}",
        )
    members = sorted(m.user_id for m in group.members)
    if members != ["alice", "bob", "carol"] or group.owner != "alice":
        raise StepFailed(f"unexpected group: owner {group.owner}, members {members}")
    stage.groups["demo team"] = gid
    return f"group {gid} created by alice; bob and carol were told"


async def push_token(stage: Stage) -> str:
    """Bob registers a device push token; the engine holds it for bob."""
    from utd_trio.testing._push import push_tokens

    bob = stage["bob"]
    await bob.sig.register_push_token("demo-device-token", platform="android", provider="fcm")
    held = push_tokens(stage.engine, "bob")
    registration = held.get("demo-device-token")
    if registration is None or (registration.platform, registration.provider) != (
        "android",
        "fcm",
    ):
        raise StepFailed(f"the engine holds {held!r} for bob")
    stage.log.note(bob.name, "registered push token demo-device-token (android/fcm)")
    return "bob's push token registered (android, fcm)"


async def media_upload(stage: Stage) -> str:
    """Alice presigns and uploads a picture; the stored bytes come back identical."""
    alice = stage["alice"]
    attachment = await alice.sig.upload(_PICTURE, filename="demo.png", content_type="image/png")
    stage.log.note(
        alice.name,
        f"uploaded {attachment.name} ({attachment.size} B) as {attachment.key}",
        attachment=attachment,
    )
    async with httpx.AsyncClient(timeout=5.0) as http:
        response = await http.get(attachment.url)
    if response.status_code != 200 or response.content != _PICTURE:
        raise StepFailed(f"GET file_url gave {response.status_code}, {len(response.content)} B")
    stage.attachments["demo.png"] = attachment
    return f"presigned + uploaded {attachment.size} B; file_url serves the same bytes"
