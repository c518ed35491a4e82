"""The echo bot and the load generator against an in-process engine.

These stay on Trio (no ``both_loops``): the example scripts are Trio programs
(``trio.run``, ``trio.open_nursery``, ``trio.move_on_after``), so under asyncio they fail
inside the example ("must be called from async context"), not in the SDK. The asyncio
example has its own tests (``test_asyncio_bot.py``).
"""

from __future__ import annotations

import pytest
import trio

from utd_trio import MessageReceived, ReceiptReceived, open_signaling
from utd_trio.testing import Engine

from ._helpers import engine_args, load_example


async def test_echo_bot_replies_and_marks_read(
    utd_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = load_example("echo_bot")
    args = bot.parse_args([*engine_args(utd_engine), "--user", "support", "--max-replies", "2"])
    project = utd_engine.default_project
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run, args)
            async with (
                open_signaling(
                    app_id=project.app_id,
                    app_key=project.app_key,
                    user_id="alice",
                    base_url=utd_engine.base_url,
                ) as alice,
                alice.events(MessageReceived, ReceiptReceived) as stream,
            ):
                replies: list[str] = []
                read_up_to = 0
                for text in ("hello", "anyone there?"):
                    sent = await alice.send_message(to="support", text=text)
                    async for event in stream:
                        if isinstance(event, ReceiptReceived) and event.status == "read":
                            read_up_to = max(read_up_to, event.up_to_seq)
                        elif isinstance(event, MessageReceived):
                            replies.append(event.message.text or "")
                            break
                    assert read_up_to >= sent.seq
        # run() returned by itself after --max-replies 2.
    assert replies == ["echo: hello", "echo: anyone there?"]
    assert "alice: 'hello' -> replied #2" in capsys.readouterr().out


async def test_load_generator_reports_no_losses(
    utd_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    load = load_example("load_generator")
    args = load.parse_args([*engine_args(utd_engine), "--users", "4", "--messages", "5"])
    with trio.fail_after(20):
        assert await load.run(args) == 0
    out = capsys.readouterr().out
    assert "users: 4, messages: 20, lost: 0" in out
    assert "throughput: " in out
    assert "delivery latency ms: p50 " in out


def test_percentiles() -> None:
    load = load_example("load_generator")
    values = [float(n) for n in range(1, 101)]
    assert [load.percentile(values, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert load.percentile([3.0], 99) == 3.0
