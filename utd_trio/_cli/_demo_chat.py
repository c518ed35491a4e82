"""Demo steps of the chat capability: direct chat, groups, push tokens and media uploads."""

from __future__ import annotations

import httpx

from .._events import GroupChanged, MessageReceived, ReceiptReceived, TypingChanged
from ._demo_cast import Stage, StepFailed

__all__ = ["direct_chat", "group_chat", "media_upload", "push_token"]

_PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


async def direct_chat(stage: Stage) -> str:
    """Alice types and sends to bob; bob's receipts (delivered, read) reach alice; bob replies."""
    alice, bob = stage["alice"], stage["bob"]
    a, b = alice.mark(), bob.mark()
    await alice.sig.set_typing(to="bob", typing=True)
    await bob.expect(
        TypingChanged,
        lambda ev: ev.user_id == "alice" and ev.is_typing,
        since=b,
        what="TypingChanged(alice typing)",
    )
    sent = await alice.sig.send_message(to="bob", text="Hi Bob! Got a minute?")
    got = await bob.expect(
        MessageReceived, lambda ev: ev.message.id == sent.id, since=b, what="alice's message"
    )
    cid = got.message.conversation_id
    await bob.sig.mark_delivered(cid, got.message.seq)
    await alice.expect(
        ReceiptReceived,
        lambda ev: ev.status == "delivered" and ev.up_to_seq >= sent.seq,
        since=a,
        what="the delivered receipt",
    )
    await bob.sig.mark_read(cid, got.message.seq)
    await alice.expect(
        ReceiptReceived,
        lambda ev: ev.status == "read" and ev.up_to_seq >= sent.seq,
        since=a,
        what="the read receipt",
    )
    reply = await bob.sig.send_message(to="alice", text="Sure, what's up?")
    await alice.expect(
        MessageReceived, lambda ev: ev.message.id == reply.id, since=a, what="bob's reply"
    )
    return f"{cid}: typing, message #{sent.seq}, delivered + read receipts, reply #{reply.seq}"


async def group_chat(stage: Stage) -> str:
    """Alice creates a group with bob and carol; both are told; her post reaches both."""
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
    b, c = bob.mark(), carol.mark()
    post = await alice.sig.send_message(group_id=gid, text="Welcome to the team!")
    for member, since in ((bob, b), (carol, c)):
        await member.expect(
            MessageReceived,
            lambda ev: ev.message.id == post.id and ev.message.group_id == gid,
            since=since,
            what="alice's group message",
        )
    stage.groups["demo team"] = gid
    return f"group {gid} created by alice; bob and carol were told and got her post #{post.seq}"


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
    """Alice uploads a picture (presign + PUT), checks it, and sends it to bob."""
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
    bob = stage["bob"]
    b = bob.mark()
    sent = await alice.sig.send_message(to="bob", text="the picture", attachment=attachment)
    got = await bob.expect(
        MessageReceived, lambda ev: ev.message.id == sent.id, since=b, what="the picture message"
    )
    if got.message.attachment is None or got.message.attachment.url != attachment.url:
        raise StepFailed(f"bob got the message without the attachment: {got.message}")
    stage.attachments["demo.png"] = attachment
    return f"uploaded {attachment.size} B (file_url serves the same bytes) and sent it to bob"
