"""The demo's log: per-user events (from `EventPrinter`) plus step headings and outcomes.

Plain output reads top to bottom as a story::

    ── step 3/9: a call: invite → ringing → accept → end
    10:00:01.234  +0.412s alice  call call_… is ringing
    (one line per event, then the outcome)
    ✔ call: bob accepted, alice hung up after 0 s (0.05 s)

With ``--json`` every event, note and step outcome is one JSON object per line
(``kind``: ``event``, ``note``, ``step``, ``summary``).
"""

from __future__ import annotations

from typing import Any

from ._format import EventPrinter

__all__ = ["DemoLog"]


class DemoLog(EventPrinter):
    """`EventPrinter` with the demo's step structure."""

    def step_started(self, index: int, total: int, name: str, title: str) -> None:
        """A step begins."""
        self.emit("step", step=name, index=index, status="started", title=title)
        if not self.json_lines:
            self._write(self.palette.bold(f"── step {index}/{total}: {title}"))

    def step_passed(self, name: str, detail: str, seconds: float) -> None:
        """A step verified its outcome."""
        self.emit("step", step=name, status="ok", detail=detail, seconds=round(seconds, 4))
        if not self.json_lines:
            self._write(f"{self.palette.good('✔ ' + name)}: {detail} ({seconds:.2f} s)")

    def step_failed(self, name: str, reason: str, seconds: float) -> None:
        """A step could not verify its outcome."""
        self.emit("step", step=name, status="failed", reason=reason, seconds=round(seconds, 4))
        if not self.json_lines:
            self._write(f"{self.palette.bad('✘ ' + name)}: {reason} ({seconds:.2f} s)")

    def summary(self, *, ok: bool, passed: int, total: int, reason: str | None) -> None:
        """The last line: verdict, steps passed and the total run time."""
        seconds = self.elapsed
        fields: dict[str, Any] = {"ok": ok, "passed": passed, "steps": total}
        self.emit("summary", **fields, reason=reason, seconds=round(seconds, 4))
        if not self.json_lines:
            if ok:
                verdict = self.palette.good(f"demo passed: {passed}/{total} steps verified")
            else:
                verdict = self.palette.bad(f"demo FAILED ({passed}/{total} steps): {reason}")
            self._write(f"{verdict} in {seconds:.2f} s")
