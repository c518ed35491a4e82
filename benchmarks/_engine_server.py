"""The reference engine in its own process, with a ``bench.echo`` request handler.

``--max-group-members`` raises the project's plan limit (the fan-out benchmark's big group).
Prints ``{"base_url", "ws_url", "app_id", "app_key", "pid"}`` once listening; exits when stdin
closes or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import trio

from utd_trio.testing import DEFAULT_PROJECT, EngineState, Session, open_engine

from ._common import announce, raise_fd_limit, wait_stdin_eof


async def _echo(state: EngineState, session: Session, data: dict[str, Any]) -> dict[str, Any]:
    return {"echo": data}


async def main(heartbeat_interval: float, max_seconds: float, max_group_members: int) -> None:
    raise_fd_limit(65536)
    limits = dict(DEFAULT_PROJECT.limits or {}) | {"max_group_members": max_group_members}
    project_config = dataclasses.replace(DEFAULT_PROJECT, limits=limits)
    with trio.move_on_after(max_seconds):
        async with open_engine(
            [project_config], heartbeat_interval=heartbeat_interval, mint_rate_limit=None
        ) as engine:
            engine.registry.ws_handler("bench.echo", _echo)
            project = engine.default_project
            announce(
                {
                    "base_url": engine.base_url,
                    "ws_url": engine.ws_url,
                    "app_id": project.app_id,
                    "app_key": project.app_key,
                }
            )
            await wait_stdin_eof()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--heartbeat-interval", type=float, default=25.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--max-group-members", type=int, default=256)
    args = parser.parse_args()
    trio.run(main, args.heartbeat_interval, args.max_seconds, args.max_group_members)
