"""The asyncio bot (examples/asyncio_bot.py) against the reference engine, all under asyncio.

pytest-trio's ``trio_mode`` makes every ``async def`` test a Trio test, so these are plain
functions that call ``anyio.run(..., backend="asyncio")``: the engine (``open_engine()``), the
bot and the user talking to it share that one asyncio loop, under a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from utd_trio import ConnectionState, MessageReceived, Signaling, open_signaling
from utd_trio.testing import Engine, open_engine

from ._helpers import engine_args, load_example

DEADLINE = 20.0


def run_asyncio(test: Callable[[Engine], Awaitable[None]]) -> None:
    """Run ``test(engine)`` in ``asyncio.run`` (via anyio) with a fresh engine and a deadline."""

    async def main() -> None:
        assert asyncio.get_running_loop() is not None
        with anyio.fail_after(DEADLINE):
            async with open_engine() as engine:
                await test(engine)

    anyio.run(main, backend="asyncio")


async def chat_with(sig: Signaling, to: str, texts: list[str]) -> list[str]:
    """Send each text to ``to`` and wait for the reply to it."""
    replies: list[str] = []
    async with sig.events(MessageReceived) as inbox:
        for text in texts:
            await sig.send_message(to=to, text=text)
            async for event in inbox:
                if isinstance(event, MessageReceived) and event.message.sender == to:
                    replies.append(event.message.text or "")
                    break
    return replies


def user(engine: Engine, user_id: str) -> Any:
    project = engine.default_project
    return open_signaling(
        app_id=project.app_id, app_key=project.app_key, user_id=user_id, base_url=engine.base_url
    )


def test_lifespan_answers_then_closes(capsys: pytest.CaptureFixture[str]) -> None:
    bot = load_example("asyncio_bot")

    async def test(engine: Engine) -> None:
        args = bot.parse_args([*engine_args(engine), "--user", "support", "--max-replies", "2"])
        async with bot.bot_lifespan(args)(None) as state:
            sig = state["signaling"]
            assert sig.state is ConnectionState.CONNECTED
            async with user(engine, "alice") as alice:
                replies = await chat_with(alice, "support", ["hello", "anyone there?"])
            assert replies == ["echo: hello", "echo: anyone there?"]
            assert await state["bot"] == 2  # --max-replies 2: the task ended by itself
        assert sig.state is ConnectionState.CLOSED

    run_asyncio(test)
    out = capsys.readouterr().out
    assert "alice: 'hello' -> replied #" in out
    assert out.rstrip().endswith("support: closed (CLOSED)")


def test_leaving_the_lifespan_cancels_the_bot() -> None:
    bot = load_example("asyncio_bot")

    async def test(engine: Engine) -> None:
        args = bot.parse_args([*engine_args(engine), "--user", "support"])  # no bound
        async with bot.bot_lifespan(args)(None) as state:
            task: asyncio.Task[int] = state["bot"]
        assert task.cancelled()
        assert state["signaling"].state is ConnectionState.CLOSED

    run_asyncio(test)


async def _asgi_lifespan(app: Any, state: dict[str, Any]) -> tuple[Any, Any]:
    """Start ``app``'s ASGI lifespan as a server would; return (shutdown, finished)."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    server = asyncio.create_task(app(scope, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    assert started["type"] == "lifespan.startup.complete", started

    async def shutdown() -> dict[str, Any]:
        await to_app.put({"type": "lifespan.shutdown"})
        message = await from_app.get()
        await server
        return message

    return shutdown, server


def test_starlette_app_runs_the_bot_in_its_lifespan(capsys: pytest.CaptureFixture[str]) -> None:
    bot = load_example("asyncio_bot")

    async def test(engine: Engine) -> None:
        args = bot.parse_args([*engine_args(engine), "--user", "helpdesk"])
        app = bot.make_app(args)
        state: dict[str, Any] = {}
        shutdown, _server = await _asgi_lifespan(app, state)

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            # What an ASGI server does with the lifespan state: a copy in every request.
            await app({**scope, "state": dict(state)}, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            response = await client.get("/status")
        assert response.status_code == 200
        assert json.loads(response.text) == {"user": "helpdesk", "state": "CONNECTED", "chat": True}
        async with user(engine, "carol") as carol:
            assert await chat_with(carol, "helpdesk", ["ping"]) == ["echo: ping"]
        assert (await shutdown())["type"] == "lifespan.shutdown.complete"
        assert state["signaling"].state is ConnectionState.CLOSED

    run_asyncio(test)
    assert "carol: 'ping' -> replied #" in capsys.readouterr().out


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_main_runs_on_its_own_loop(loop: str, capsys: pytest.CaptureFixture[str]) -> None:
    bot = load_example("asyncio_bot")

    async def test(engine: Engine) -> None:
        argv = [*engine_args(engine), "--user", "bot", "--loop", loop, "--duration", "0"]
        # main() calls asyncio.run / uvloop.run itself: a worker thread, a loop of its own.
        assert await anyio.to_thread.run_sync(bot.main, argv) == 0

    run_asyncio(test)
    out = capsys.readouterr().out
    assert "bot: answering direct messages" in out
    assert "bot: closed (CLOSED)" in out
