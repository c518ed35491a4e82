"""Fan-out: one group of 200 members, time from a send to the last member's MessageReceived.

Needs groups (``create_group``) and chat (``send_message``) in the SDK and the engine. Until
both exist this benchmark reports that it was not measured instead of failing.

    uv run python -m benchmarks.fanout [--smoke]
"""

from __future__ import annotations

import argparse

import trio

from utd_trio import Signaling

from ._common import Result


def missing_verbs() -> list[str]:
    return [name for name in ("create_group", "send_message") if not hasattr(Signaling, name)]


async def run(*, smoke: bool = False) -> Result:
    command = "uv run python -m benchmarks.fanout" + (" --smoke" if smoke else "")
    result = Result("Fan-out to a 200-member group (#7.5)", command)
    missing = missing_verbs()
    if missing:
        result.notes.append(
            "NOT MEASURED: the SDK has no " + " / ".join(missing) + " yet (chat is being built "
            "in utd_trio/_verbs_chat.py); this benchmark is the placeholder to fill in."
        )
        return result
    result.notes.append(
        "NOT MEASURED: the verbs exist now but the fan-out measurement is not written yet."
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()

    async def go() -> None:
        (await run(smoke=args.smoke)).print()

    trio.run(go)


if __name__ == "__main__":
    main()
