"""The figures and notes of the scale benchmark (`scale.py`): one row each, and the ratios.

Rows are the dicts a worker returns (``loop``, ``variant``, ``n`` and what it measured);
`report_row` turns one into figures, `add_ratios` compares two (linearity across N, or a
session variant over the bare baseline of the same loop and N, `against_bare`).
"""

from __future__ import annotations

from typing import Any

from ._common import Result

__all__ = ["BARE", "DEFAULT_INTERVAL", "add_ratios", "against_bare", "report_row"]

DEFAULT_INTERVAL = 25.0  # the contract's heartbeat interval (protocol §5)
BARE = "bare"  # the baseline variant: no SDK (`_bare_idle.py`)


def against_bare(result: Result, rows: list[dict[str, Any]]) -> None:
    """SDK over bare, per loop and N measured both ways in this run: idle CPU and memory."""
    measured = {(r["loop"], r["variant"], r["n"]): r for r in rows if "error" not in r}
    for (loop, variant, n), row in measured.items():
        bare = measured.get((loop, BARE, n))
        if variant == BARE or bare is None:
            continue
        tag = f"{loop} {variant} / {BARE} N={n:,}"
        add_ratios(result, tag, "", row, bare, ("", "≤ 1 (no dearer than a bare client)"))


def add_ratios(
    result: Result,
    tag: str,
    suffix: str,
    row: dict[str, Any],
    base: dict[str, Any],
    targets: tuple[str, str],
) -> None:
    """``row`` over ``base``: memory per session and CPU per heartbeat (with their targets)."""
    for (what, key), target in zip(
        (("memory per session", "kib_per_session"), ("CPU per heartbeat", "us_per_heartbeat")),
        targets,
        strict=True,
    ):
        result.add(f"{tag}: {what}{suffix}", row[key] / base[key], "x", target)


def _s(seconds: float) -> str:
    """Seconds, to 0.01 s below 10 s and to 0.1 s above."""
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def report_row(
    result: Result, row: dict[str, Any], tag: str, heartbeat: float, smoke: bool
) -> None:
    """The figures and the note of one measured row (``tag``: "loop variant")."""
    n = row["n"]
    ok = row["connected"] == n and row["still_connected"] == n and not row["reconnects"]
    kib = row["rss_delta_bytes"] / n / 1024
    core = 100 * row["cpu_seconds"] / row["window"]
    beats = n * row["window"] / heartbeat
    per_beat = row["cpu_seconds"] / beats * 1e6
    row |= {"kib_per_session": kib, "core_pct": core, "us_per_heartbeat": per_beat}
    mem_ok = None if smoke else kib <= 100
    result.add(f"{tag} N={n:,}: memory per session", kib, "KiB", "≤ 100 KiB", mem_ok)
    at_default = heartbeat == DEFAULT_INTERVAL
    cpu_ok = None if smoke or n != 1000 or not at_default else core < 5
    result.add(
        f"{tag} N={n:,}: idle CPU, heartbeat {heartbeat:g} s" + ("" if at_default else " (stress)"),
        core,
        "%",
        "< 5 % at N=1,000" if n == 1000 and at_default else "",
        cpu_ok,
    )
    result.add(f"{tag} N={n:,}: CPU per heartbeat", per_beat, "µs")
    result.add(f"{tag} N={n:,}: wake-ups per heartbeat", row["wakes"] / beats, "")
    wall = row["connect_seconds"]
    client, engine = row["connect_cpu_seconds"], row["connect_engine_cpu_seconds"]
    if client > 0 and engine > 0:  # the engine's is counted in clock ticks (10 ms)
        result.add(f"{tag} connect N={n:,}: engine CPU / client CPU", engine / client, "x")
    result.notes.append(
        f"{tag} N={n:,}: connected {row['connected']}/{n} in {_s(wall)} s, "
        f"still connected {row['still_connected']}, "
        f"reconnects in window {row['reconnects']}; connect: client {client:.2f} s CPU "
        f"({100 * client / wall:.0f} % of a core), engine {engine:.2f} s CPU "
        f"({100 * engine / wall:.0f} % of a core) over the {_s(wall)} s; idle: engine CPU "
        f"{100 * row['engine_cpu_seconds'] / row['window']:.0f} % of a core, "
        f"garbage collection {row['gc_seconds']:.2f} s of the window's "
        f"{row['cpu_seconds']:.2f} s CPU ({row['gc_full_collections']} full), "
        f"close of all {row['close_seconds']:.1f} s"
        + (f", failures {row['failure_count']}: {row['failures']}" if row["failures"] else "")
        + ("" if ok else " — NOT all connected throughout")
    )
