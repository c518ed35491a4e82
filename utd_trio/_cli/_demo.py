"""``utd-trio demo``: a guided, self-verifying tour against an embedded reference engine.

The engine runs in-process on 127.0.0.1 (a free port); simulated users connect to it with
`open_signaling` and walk through the steps of :mod:`._demo_steps`. Each step waits (with a
timeout) for the events its action must cause; the exit status is 0 only if every step
verified its outcome.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import TextIO

import trio

from ._common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Subparsers, add_command, lone_error
from ._demo_cast import Stage, StepFailed
from ._demo_log import DemoLog
from ._demo_steps import STEPS, Step
from ._format import Palette
from ._output import OutputClosed

__all__ = ["register", "run_demo"]

log = logging.getLogger("utd_trio.demo")


def register(subparsers: Subparsers) -> None:
    """Add the ``demo`` subcommand."""
    parser = add_command(
        subparsers,
        "demo",
        _demo,
        summary="run a self-verifying tour against an embedded engine",
        description="Start the reference engine in-process, connect simulated users and walk "
        "through capabilities, presence, calls, chat, groups, push, media, a forced "
        "reconnect and a presence room (channels). Every step verifies its outcome; the "
        "exit status is 0 only if all did.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: auto, on a terminal unless NO_COLOR is set)",
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long a step may wait for its outcome (default 5)",
    )


async def _demo(args: argparse.Namespace) -> int:
    if not args.step_timeout > 0:
        print("utd-trio demo: --step-timeout must be > 0", file=sys.stderr)
        return EXIT_USAGE
    return await run_demo(
        sys.stdout, json_lines=args.json, color=args.color, step_timeout=args.step_timeout
    )


async def _run_step(stage: Stage, step: Step, index: int, timeout: float) -> str | None:
    """Run one step; the failure reason, or None when it verified its outcome."""
    stage.log.step_started(index, len(STEPS), step.name, step.title)
    started = time.perf_counter()
    reason: str | None = None
    detail = ""
    try:
        with trio.fail_after(timeout):
            detail = await step.run(stage)
    except OutputClosed:  # stdout's reader left: not a failed step, the end of the run
        raise
    except trio.TooSlowError:
        reason = f"timed out after {timeout:g} s waiting for {stage.waiting or 'the step'}"
    except Exception as raw:  # a failed step is reported in one line, never a traceback
        error = lone_error(raw)
        log.debug("step %s failed", step.name, exc_info=error)
        reason = str(error) if isinstance(error, StepFailed) else f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    if reason is None:
        stage.log.step_passed(step.name, detail, seconds)
    else:
        stage.log.step_failed(step.name, reason, seconds)
    return reason


async def run_demo(
    out: TextIO, *, json_lines: bool = False, color: str = "auto", step_timeout: float = 5.0
) -> int:
    """Run the demo writing to ``out``; 0 if every step verified, else 1 (2: no engine extra).

    Call it from Trio (e.g. a test inside ``trio.fail_after``); ``utd-trio demo`` runs it.
    """
    demo_log = DemoLog(out, json_lines=json_lines, palette=Palette.for_stream(out, color))
    try:
        from utd_trio.testing._engine import open_engine
    except ImportError as error:
        print(f"utd-trio demo: needs the engine extra: pip install 'utd-trio[engine]' ({error})")
        return EXIT_USAGE
    passed = 0
    reason: str | None = None
    async with open_engine(host="127.0.0.1", port=0, mint_rate_limit=None) as engine:
        demo_log.note(None, f"reference engine on {engine.base_url}", base_url=engine.base_url)
        async with trio.open_nursery() as nursery:
            stage = Stage(engine, demo_log, nursery)
            for index, step in enumerate(STEPS, 1):
                failure = await _run_step(stage, step, index, step_timeout)
                if failure is not None:
                    reason = f"step {step.name!r} failed: {failure}"
                    break
                passed += 1
            with trio.move_on_after(step_timeout):
                for user in stage.users.values():
                    await user.close()
            nursery.cancel_scope.cancel()
    ok = reason is None
    demo_log.summary(ok=ok, passed=passed, total=len(STEPS), reason=reason)
    if not ok:
        print(f"utd-trio demo: {reason}", file=sys.stderr, flush=True)
    return EXIT_OK if ok else EXIT_FAILED
