"""Send cost per frame: ``encode_text_frame`` vs wsproto's ``Connection.send(TextMessage)``.

Both write the same bytes (``tests/unit/test_ws_encode.py``); this times them on texts of
100 B, 1 KiB, 64 KiB and 1 MiB (UTF-8 bytes, half ASCII, half 2-byte characters), interleaved
round by round, and prints the median over rounds of each round's time per frame. With
``--masking`` it also times the two masking ways of ``utd_trio._protocol._ws_encode`` (big
integers, ``translate`` over every 4th byte) against wsproto's ``XorMaskerSimple`` around
``_SMALL_PAYLOAD``, where the module switches from one to the other.

A pure CPU micro-benchmark, no sockets; the machines are shared and noisy, so compare the
ratios of one run, not absolute figures across runs.

    uv run python -m benchmarks.encode [--smoke] [--rounds 15] [--masking]
"""

from __future__ import annotations

import argparse
import os
import statistics
import timeit
from collections.abc import Callable
from functools import partial

from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage
from wsproto.frame_protocol import XorMaskerSimple

from utd_trio._protocol._ws_encode import (
    _SMALL_PAYLOAD,
    _frame_large,
    _mask_small,
    encode_text_frame,
)

SIZES = (100, 1024, 64 * 1024, 1 << 20)
MASKING_SIZES = (16, 100, 256, 512, _SMALL_PAYLOAD, 1024, 4096, 64 * 1024, 1 << 20)
WORK_PER_ROUND = 4_000_000  # payload bytes (plus a fixed cost per call) per timed batch


def sample_text(size: int) -> str:
    """``size`` UTF-8 bytes: ASCII, then 2-byte characters."""
    half = "é" * (size // 4)
    text = "x" * (size - len(half.encode())) + half
    assert len(text.encode()) == size
    return text


def calls_for(size: int, smoke: bool) -> int:
    """How many calls one timed batch makes for a payload of ``size`` bytes."""
    calls = max(5, WORK_PER_ROUND // (size + 400))
    return max(1, calls // 50) if smoke else calls


def send_wsproto(client: Connection, text: str) -> bytes:
    """What the SDK's transport did for every message: wsproto's event and send."""
    return client.send(TextMessage(text))


def mask_wsproto(payload: bytes, mask: bytes) -> bytearray:
    """wsproto's masking of one frame's payload (a fresh masker per frame, as it does)."""
    return XorMaskerSimple(mask).process(bytearray(payload))


def race(contenders: dict[str, Callable[[], object]], calls: int, rounds: int) -> dict[str, float]:
    """The median over ``rounds`` of each contender's seconds per call, interleaved."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            times[name].append(timeit.timeit(fn, number=calls) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def show(size: int, medians: dict[str, float], baseline: str) -> None:
    """One line: every contender's µs per call, and the baseline's time over each."""
    cells = [
        f"{name} {seconds * 1e6:9.2f} µs ({medians[baseline] / seconds:4.2f}x)"
        for name, seconds in medians.items()
    ]
    print(f"{size:>8} B  " + "  ".join(cells))


def frames(smoke: bool, rounds: int) -> None:
    """``encode_text_frame`` against wsproto's client connection, whole frames."""
    print("whole frame, µs per frame (speed-up over wsproto):")
    client = Connection(ConnectionType.CLIENT)
    for size in SIZES:
        text = sample_text(size)
        contenders: dict[str, Callable[[], object]] = {
            "wsproto": partial(send_wsproto, client, text),
            "encode_text_frame": partial(encode_text_frame, text),
        }
        show(size, race(contenders, calls_for(size, smoke), rounds), "wsproto")


def masking(smoke: bool, rounds: int) -> None:
    """The two masking ways against ``XorMaskerSimple``, payload only (plus a 6-byte prefix)."""
    print(f"masking only, µs per payload (the module switches above {_SMALL_PAYLOAD} B):")
    mask = os.urandom(4)
    prefix = b"\x81\x80" + mask
    for size in MASKING_SIZES:
        payload = os.urandom(size)
        assert prefix + _mask_small(payload, mask) == _frame_large(prefix, payload, mask)
        contenders: dict[str, Callable[[], object]] = {
            "XorMaskerSimple": partial(mask_wsproto, payload, mask),
            "int": partial(_mask_small, payload, mask),
            "translate": partial(_frame_large, prefix, payload, mask),
        }
        show(size, race(contenders, calls_for(size, smoke), rounds), "XorMaskerSimple")


def main() -> None:
    parser = argparse.ArgumentParser(description="Send cost per frame vs wsproto.")
    parser.add_argument("--smoke", action="store_true", help="a few calls only")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--masking", action="store_true", help="also time the masking ways")
    args = parser.parse_args()
    rounds = 2 if args.smoke else args.rounds
    frames(args.smoke, rounds)
    if args.masking:
        masking(args.smoke, rounds)


if __name__ == "__main__":
    main()
