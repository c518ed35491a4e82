"""Run every benchmark and write ``benchmarks/RESULTS.md`` (``nox -s bench`` calls this).

uv run python -m benchmarks.run_all [--smoke] [--only receive,roundtrip] [--output PATH]
    [--baseline-tree PATH]

``--baseline-tree`` goes to the benchmarks that take it (``receive``: the Trio SDK reader from
that source tree, side by side with this tree's).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import trio

from ._common import ROOT, Result, machine_summary

BENCHMARKS = (
    "receive",
    "roundtrip",
    "scale",
    "recovery",
    "fanout",
    "channel_fanout",
    "channel_roundtrip",
)


async def run_all(
    names: tuple[str, ...], smoke: bool, baseline_tree: str | None = None
) -> list[Result]:
    results: list[Result] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        kwargs: dict[str, object] = {"smoke": smoke}
        if (
            baseline_tree is not None
            and "baseline_tree" in inspect.signature(module.run).parameters
        ):
            kwargs["baseline_tree"] = baseline_tree
        try:
            result: Result = await module.run(**kwargs)
        except Exception:
            result = Result(name, f"uv run python -m benchmarks.{name}")
            result.notes.append("FAILED:\n\n```\n" + traceback.format_exc() + "```")
        result.notes.append(f"wall time {time.perf_counter() - started:.0f} s")
        print(result.markdown(), file=sys.stderr, flush=True)
        results.append(result)
    return results


def render(results: list[Result], command: str, extra_versions: dict[str, str]) -> str:
    info = machine_summary() | extra_versions
    lines = [
        "# Benchmark results",
        "",
        "Every figure compares the SDK against a baseline measured in the same run on the same",
        "machine (shared and noisy: compare ratios, not absolute numbers, across machines).",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    ]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines.append("")
    for result in results:
        lines.append(result.markdown())
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for dist in ("utd-trio", "hypercorn", "httpx", "websockets", "uvloop", "anyio"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--baseline-tree", metavar="PATH")
    args = parser.parse_args()
    names = tuple(args.only.split(",")) if args.only else BENCHMARKS
    results = trio.run(run_all, names, args.smoke, args.baseline_tree)
    command = "nox -s bench" if not args.only and not args.smoke else " ".join(sys.argv)
    Path(args.output).write_text(render(results, command, _versions()))
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
