"""How the CLI shows events: one readable line each, or one JSON object each.

`describe` is the human line (used by ``listen``, ``demo`` and the examples); `jsonable` and
`event_record` turn the frozen records into plain JSON; `Palette` adds ANSI colour on a TTY
(no dependency: ``NO_COLOR`` and a non-TTY stream turn it off).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from .._events import (
    CallAccepted,
    CallAnsweredElsewhere,
    CallCancelled,
    CallEnded,
    CallIncoming,
    CallMissed,
    CallRejected,
    CallRinging,
    CapabilitiesChanged,
    ChannelEvent,
    ChannelMemberAdded,
    ChannelMemberRemoved,
    ChannelResubscribed,
    Connected,
    Disconnected,
    Event,
    GroupChanged,
    MessageReceived,
    PresenceChanged,
    ReceiptReceived,
    RecoveryFinished,
    TypingChanged,
)
from .._models import Capabilities, ChatMessage, PlanLimits
from ._output import write_line

__all__ = [
    "EventPrinter",
    "Palette",
    "compact_json",
    "describe",
    "describe_capabilities",
    "describe_limits",
    "describe_message",
    "describe_plan_change",
    "event_record",
    "jsonable",
]


def jsonable(value: object) -> Any:
    """``value`` as plain JSON data: records → objects, datetimes → ISO-8601, enums → values."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        items: Mapping[object, object] = value  # pyright: ignore[reportUnknownVariableType]
        return {str(key): jsonable(item) for key, item in items.items()}
    if isinstance(value, list | tuple | set | frozenset):
        members: list[object] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return [jsonable(member) for member in members]
    return repr(value)


def event_record(event: Event) -> dict[str, Any]:
    """``{"type": "<EventClass>", **fields}`` as plain JSON data."""
    fields: dict[str, Any] = jsonable(event)
    return {"type": type(event).__name__, **fields}


def _flag(value: bool | None) -> str:
    return "unknown" if value is None else ("on" if value else "off")


def describe_limits(limits: PlanLimits | None) -> str:
    """The plan limits in words (``unknown`` for missing values)."""
    if limits is None:
        return "limits unknown"

    def show(value: int | None) -> str:
        return "?" if value is None else str(value)

    return (
        f"history {show(limits.history_days)} d, groups <= {show(limits.max_group_members)} "
        f"members, friends <= {show(limits.max_friends)}, "
        f"chatrooms <= {show(limits.max_chatrooms)}"
    )


def describe_capabilities(caps: Capabilities) -> str:
    """``signaling on, chat off, <limits>``."""
    return (
        f"signaling {_flag(caps.signaling_enabled)}, chat {_flag(caps.chat_enabled)}; "
        f"{describe_limits(caps.plan_limits)}"
    )


def describe_message(message: ChatMessage) -> str:
    """``#seq in <conversation> from <sender>: "text" [+ attachment]``."""
    parts = [f"#{message.seq} in {message.conversation_id} from {message.sender}"]
    if message.text is not None:
        parts.append(f": {message.text!r}")
    if message.attachment is not None:
        a = message.attachment
        parts.append(f" [+ {a.name or a.key} ({a.content_type}, {a.size} B)]")
    return "".join(parts)


def describe_plan_change(old: Capabilities, new: Capabilities) -> str:
    """What differs between two capability snapshots (``chat on -> off, ...``)."""
    before: dict[str, object] = {
        "signaling": _flag(old.signaling_enabled),
        "chat": _flag(old.chat_enabled),
    }
    after: dict[str, object] = {
        "signaling": _flag(new.signaling_enabled),
        "chat": _flag(new.chat_enabled),
    }
    for caps, into in ((old, before), (new, after)):
        limits = caps.plan_limits
        into["limits"] = "unknown" if limits is None else "known"
        if limits is not None:
            into.update({f.name: getattr(limits, f.name) for f in dataclasses.fields(PlanLimits)})
    changes = [
        f"{key} {before.get(key, '?')} -> {after.get(key, '?')}"
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    ]
    return ", ".join(changes) or "no visible change"


def _describe_lifecycle(event: Event) -> str | None:
    match event:
        case Connected(generation=generation):
            caps = describe_capabilities(event.capabilities)
            return f"connected (generation {generation}): {caps}"
        case Disconnected(code=code, reason=reason, will_retry=will_retry, retry_in=retry_in):
            why = f"code {code}" if code is not None else "no close code"
            if reason:
                why += f", {reason}"
            if not will_retry:
                return f"disconnected ({why}); not reconnecting"
            wait = f" in {retry_in:.2f} s" if retry_in is not None else ""
            return f"disconnected ({why}); reconnecting{wait}"
        case CapabilitiesChanged(old=old, new=new):
            return f"plan changed: {describe_plan_change(old, new)}"
        case RecoveryFinished(generation=generation, complete=complete, delivered=n, error=err):
            state = "complete" if complete else f"INCOMPLETE: {err}"
            return f"recovery after reconnect (generation {generation}): {n} missed, {state}"
        case PresenceChanged(user_id=user, online=online, last_seen_at=seen):
            if online:
                return f"{user} is online"
            return f"{user} is offline" + (f" (last seen {seen:%H:%M:%S})" if seen else "")
        case _:
            return None


def _describe_call(event: Event) -> str | None:
    match event:
        case CallIncoming(call_id=cid, caller=caller, video=video, caller_name=name):
            who = f"{caller} ({name})" if name else caller
            return f"incoming {'video' if video else 'audio'} call {cid} from {who}"
        case CallRinging(call_id=cid):
            return f"call {cid} is ringing"
        case CallAccepted(call_id=cid, by=by, room_name=room):
            return f"call {cid} accepted by {by}" + (f" (room {room})" if room else "")
        case CallAnsweredElsewhere(call_id=cid):
            return f"call {cid} answered on another device"
        case CallRejected(call_id=cid, by=by, reason=reason):
            return f"call {cid} rejected by {by}" + (f" ({reason})" if reason else "")
        case CallCancelled(call_id=cid):
            return f"call {cid} cancelled by the caller"
        case CallEnded(call_id=cid, by=by, duration_seconds=duration):
            took = f" after {duration} s" if duration is not None else ""
            return f"call {cid} ended by {by}{took}"
        case CallMissed(call_id=cid):
            return f"call {cid} missed (nobody answered)"
        case _:
            return None


def _describe_chat(event: Event) -> str | None:
    match event:
        case MessageReceived(message=message, recovered=recovered):
            return f"message {describe_message(message)}" + (" (recovered)" if recovered else "")
        case ReceiptReceived(conversation_id=cid, user_id=user, status=status, up_to_seq=seq):
            return f"{user} marked {cid} {status} up to #{seq}"
        case TypingChanged(conversation_id=cid, user_id=user, is_typing=typing):
            return f"{user} {'is typing' if typing else 'stopped typing'} in {cid}"
        case GroupChanged(group=group, change=change, user_ids=users):
            members = ", ".join(
                m.user_id if m.role == "member" else f"{m.user_id} ({m.role})"
                for m in group.members
            )
            who = f" ({', '.join(users)})" if users else ""
            return f"group {group.name!r} ({group.group_id}) {change}{who}; members: {members}"
        case _:
            return None


def compact_json(value: object) -> str:
    """``value`` as compact JSON (non-ASCII kept), as channel data is shown and measured."""
    return json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)


def _describe_channel(event: Event) -> str | None:
    match event:
        case ChannelEvent(channel=channel, event=name, data=data, user_id=sender):
            origin = f"from {sender}" if sender is not None else "(broadcast)"
            return f"{channel}: {name} {origin}: {compact_json(data)}"
        case ChannelMemberAdded(channel=channel, user_id=user, user_info=info):
            return f"{channel}: {user} joined" + (f" {compact_json(info)}" if info else "")
        case ChannelMemberRemoved(channel=channel, user_id=user):
            return f"{channel}: {user} left"
        case ChannelResubscribed(channel=channel, generation=generation, error=None):
            return (
                f"{channel}: subscribed again after the reconnect (generation {generation}); "
                "events sent while disconnected are not replayed"
            )
        case ChannelResubscribed(channel=channel, generation=generation, error=error):
            return f"{channel}: NOT subscribed again (generation {generation}): {error}"
        case _:
            return None


def describe(event: Event) -> str:
    """One readable line for any event (unknown kinds fall back on ``repr``)."""
    for part in (_describe_lifecycle, _describe_call, _describe_chat, _describe_channel):
        line = part(event)
        if line is not None:
            return line
    return repr(event)


class Palette:
    """ANSI colours, or nothing when disabled."""

    _USER_COLOURS = ("36", "35", "33", "34", "32", "91")

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._users: dict[str, str] = {}

    @classmethod
    def for_stream(cls, stream: TextIO, mode: str = "auto") -> Palette:
        """``mode`` ``always``/``never``, or ``auto``: colour on a TTY unless ``NO_COLOR``."""
        if mode == "always":
            return cls(True)
        if mode == "never" or os.environ.get("NO_COLOR"):
            return cls(False)
        isatty = getattr(stream, "isatty", None)
        return cls(bool(isatty and isatty()))

    def paint(self, code: str, text: str) -> str:
        """``text`` wrapped in the SGR ``code`` (when enabled)."""
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def user(self, name: str, width: int = 0) -> str:
        """The user's name in a stable colour of its own, padded to ``width``."""
        code = self._users.setdefault(
            name, self._USER_COLOURS[len(self._users) % len(self._USER_COLOURS)]
        )
        return self.paint(code, name.ljust(width))

    def dim(self, text: str) -> str:
        """Faint text (timestamps)."""
        return self.paint("2", text)

    def good(self, text: str) -> str:
        """Bold green."""
        return self.paint("1;32", text)

    def bad(self, text: str) -> str:
        """Bold red."""
        return self.paint("1;31", text)

    def bold(self, text: str) -> str:
        """Bold."""
        return self.paint("1", text)


class EventPrinter:
    """Writes timestamped per-user lines, or (``json_lines``) one JSON object per line.

    Plain: ``12:00:01.234 +0.123s alice  connected ...``. JSON: ``{"ts", "t", "kind",
    "user", ...}`` where ``t`` is seconds since the printer was made.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        json_lines: bool = False,
        palette: Palette | None = None,
        user_width: int = 6,
    ) -> None:
        self.out = out
        self.json_lines = json_lines
        self.palette = palette or Palette(False)
        self.user_width = user_width
        self._start = time.perf_counter()
        self._last_reason: dict[str, str] = {}

    @property
    def elapsed(self) -> float:
        """Seconds since the printer was made."""
        return time.perf_counter() - self._start

    def emit(self, kind: str, **fields: Any) -> None:
        """Write one JSON object (JSON mode only)."""
        if self.json_lines:
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            record = {"ts": stamp, "t": round(self.elapsed, 4), "kind": kind, **fields}
            self._write(json.dumps(jsonable(record), ensure_ascii=False))

    def line(self, user: str | None, text: str) -> None:
        """Write one plain line (plain mode only)."""
        if not self.json_lines:
            now = datetime.now().astimezone()
            stamp = self.palette.dim(f"{now:%H:%M:%S}.{now.microsecond // 1000:03d} ")
            rel = self.palette.dim(f"+{self.elapsed:.3f}s ".rjust(9))
            who = self.palette.user(user, self.user_width) if user else " " * self.user_width
            self._write(f"{stamp}{rel}{who} {text}")

    def event(self, user: str, event: Event) -> None:
        """Show an event received by ``user``.

        A reconnect attempt failing with the same reason as the one before reads ``still
        disconnected (same error); reconnecting in …`` instead of repeating the error (JSON
        records keep every field).
        """
        self.emit("event", user=user, event=event_record(event))
        text = describe(event)
        if isinstance(event, Disconnected):
            last = self._last_reason.get(user)
            self._last_reason[user] = event.reason
            if event.reason and event.reason == last and event.will_retry:
                wait = f" in {event.retry_in:.2f} s" if event.retry_in is not None else ""
                text = f"still disconnected (same error); reconnecting{wait}"
        elif isinstance(event, Connected):
            self._last_reason.pop(user, None)
        self.line(user, text)

    def note(self, user: str | None, text: str, **fields: Any) -> None:
        """Show an informational line (``kind: "note"`` in JSON, with ``fields``)."""
        self.emit("note", user=user, text=text, **fields)
        self.line(user, text)

    def _write(self, text: str) -> None:
        write_line(self.out, text)
