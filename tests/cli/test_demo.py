"""``utd-trio demo``: it passes, its JSON is valid, and a failing step fails it clearly."""

from __future__ import annotations

import io
import json
import time

import pytest
import trio

from utd_trio._cli import _demo
from utd_trio._cli._demo_cast import Stage, StepFailed
from utd_trio._cli._demo_steps import STEPS, Step

from ._helpers import Tap, run_cli


async def test_demo_passes_quickly() -> None:
    out = io.StringIO()
    started = time.perf_counter()
    with trio.fail_after(10):
        status = await _demo.run_demo(out, color="never")
    assert status == 0, out.getvalue()
    assert time.perf_counter() - started < 10
    text = out.getvalue()
    for step in STEPS:
        assert f"✔ {step.name}:" in text
    assert STEPS[-1].name == "rooms"  # the channels step (issue 16), after the reconnect
    assert "presence-demo-room: bob is back; members: alice (Alice), bob (Bob)" in text
    assert f"demo passed: {len(STEPS)}/{len(STEPS)} steps verified in" in text
    assert "\x1b[" not in text


async def test_demo_json_lines(tap: Tap) -> None:
    with trio.fail_after(10):
        assert await run_cli(["demo", "--json"], tap) == 0
    records = [json.loads(line) for line in tap.lines]
    kinds = {record["kind"] for record in records}
    assert kinds == {"note", "event", "step", "summary"}
    outcomes = {
        r["step"]: r["status"] for r in records if r["kind"] == "step" and r["status"] != "started"
    }
    assert outcomes == {step.name: "ok" for step in STEPS}
    assert records[-1]["kind"] == "summary"
    assert records[-1]["ok"] is True
    users = {r["user"] for r in records if r["kind"] == "event"}
    assert {"alice", "bob"} <= users
    resubscribed = [r for r in records if r.get("event", {}).get("type") == "ChannelResubscribed"]
    assert [(r["user"], r["event"]["error"]) for r in resubscribed] == [("bob", None)]
    assert all(isinstance(r["t"], float | int) and r["ts"] for r in records)


async def test_demo_colour_when_forced() -> None:
    out = io.StringIO()
    with trio.fail_after(10):
        assert await _demo.run_demo(out, color="always") == 0
    assert "\x1b[1;32m" in out.getvalue()


async def _fails(stage: Stage) -> str:
    await stage.connect("alice")
    raise StepFailed("bob never answered")


async def _hangs(stage: Stage) -> str:
    alice = await stage.connect("alice")
    await alice.expect(StepFailed, since=alice.mark(), what="an event that never comes")  # type: ignore[type-var]
    return "unreachable"


@pytest.mark.parametrize(
    ("run", "reason"),
    [
        (_fails, "step 'broken' failed: bob never answered"),
        (
            _hangs,
            "step 'broken' failed: timed out after 2 s waiting for "
            "alice: an event that never comes",
        ),
    ],
    ids=["fails", "times-out"],
)
async def test_a_failing_step_fails_the_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], run: object, reason: str
) -> None:
    broken = Step("broken", "a step that cannot verify", run)  # type: ignore[arg-type]
    monkeypatch.setattr(_demo, "STEPS", (STEPS[0], broken, STEPS[-1]))
    out = io.StringIO()
    with trio.fail_after(10):  # 2 s per step: a loaded machine may connect slowly
        status = await _demo.run_demo(out, json_lines=True, step_timeout=2)
    assert status == 1
    assert capsys.readouterr().err == f"utd-trio demo: {reason}\n"
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    summary = records[-1]
    assert summary == {**summary, "kind": "summary", "ok": False, "passed": 1, "steps": 3}
    assert summary["reason"] == reason
    steps = [r["step"] for r in records if r["kind"] == "step" and r["status"] == "started"]
    assert steps == [STEPS[0].name, "broken"]
