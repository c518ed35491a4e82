"""A chat bot that lives in an asyncio web app's lifespan (the FastAPI / Starlette shape).

The same ``utd_trio`` API as the Trio examples, under ``asyncio.run``. The bot's session is
opened when the app starts and closed when it stops: ``lifespan`` below is a plain
``contextlib.asynccontextmanager`` taking the app, which is exactly what
``FastAPI(lifespan=...)`` and ``Starlette(lifespan=...)`` accept. While the app runs, a task
answers every direct message ("echo: ..."), and the request handlers reach the live session
through the lifespan state (``request.state.signaling``; ``make_app()`` has a status route).

Try it against the local reference engine, without any web server::

    utd-trio serve &
    python examples/asyncio_bot.py --user support
    utd-trio send --base-url http://127.0.0.1:8080 --app-id app_test --app-key key_test \
        --user alice --to support "hello?"             # in another terminal

or inside an app (Starlette comes with the ``engine`` extra; FastAPI takes the same lifespan)::

    uvicorn --factory examples.asyncio_bot:make_app     # GET /status

``--loop uvloop`` runs it on uvloop. Connection settings come from
``--base-url/--app-id/--app-key`` or the environment (``UTD_BASE_URL``, ``UTD_APP_ID``,
``UTD_APP_KEY``); the defaults match ``utd-trio serve``. ``--max-replies`` and ``--duration``
bound the run (the tests use them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from utd_trio import EventStream, MessageReceived, Signaling, UTDStreamError, open_signaling


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A chat bot in an asyncio app's lifespan.")
    parser.add_argument(
        "--base-url", default=os.environ.get("UTD_BASE_URL", "http://127.0.0.1:8080")
    )
    parser.add_argument("--app-id", default=os.environ.get("UTD_APP_ID", "app_test"))
    parser.add_argument("--app-key", default=os.environ.get("UTD_APP_KEY", "key_test"))
    parser.add_argument("--user", default="support", help="the bot's identity")
    parser.add_argument("--max-replies", type=int, metavar="N", help="stop after N replies")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    return parser.parse_args(argv)


async def answer_messages(
    sig: Signaling, inbox: EventStream[Any], max_replies: int | None = None
) -> int:
    """Reply to each direct message from ``inbox``; return after ``max_replies`` replies."""
    replies = 0
    async for event in inbox:
        if not isinstance(event, MessageReceived):
            continue
        message = event.message
        # Only DMs to the bot; never its own messages (sent from another device).
        if message.sender == sig.user_id or message.group_id is not None:
            continue
        await sig.mark_read(message.conversation_id, message.seq)
        reply = await sig.send_message(to=message.sender, text=f"echo: {message.text}")
        print(f"{message.sender}: {message.text!r} -> replied #{reply.seq}", flush=True)
        replies += 1
        if max_replies is not None and replies >= max_replies:
            break
    return replies


def bot_lifespan(
    args: argparse.Namespace,
) -> Callable[[Any], AbstractAsyncContextManager[dict[str, Any]]]:
    """The app's lifespan: the bot's session and its answering task live exactly as long."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        sig: Signaling | None = None
        try:
            async with (
                open_signaling(
                    app_id=args.app_id,
                    app_key=args.app_key,
                    user_id=args.user,
                    base_url=args.base_url,
                ) as sig,
                # Subscribe before the app starts taking traffic: nothing sent after startup
                # is missed, even before the task below first runs.
                sig.events(MessageReceived) as inbox,
            ):
                bot = asyncio.create_task(answer_messages(sig, inbox, args.max_replies))
                print(f"{args.user}: answering direct messages", flush=True)
                try:
                    # Lifespan state: FastAPI / Starlette hand it to requests as request.state.
                    yield {"signaling": sig, "bot": bot}
                finally:
                    bot.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await bot  # a bot that failed re-raises its error here
        finally:
            # Leaving open_signaling closed the socket (code 1000) within close_timeout,
            # whether the app stopped normally or was cancelled (Ctrl-C).
            if sig is not None:
                print(f"{args.user}: closed ({sig.state.name})", flush=True)

    return lifespan


def make_app(args: argparse.Namespace | None = None) -> Any:
    """A Starlette app with the bot in its lifespan and a ``GET /status`` route."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def status(request: Request) -> JSONResponse:
        sig: Signaling = request.state.signaling
        return JSONResponse(
            {"user": sig.user_id, "state": sig.state.name, "chat": sig.chat_enabled}
        )

    lifespan = bot_lifespan(args or parse_args([]))
    return Starlette(routes=[Route("/status", status)], lifespan=lifespan)


async def run(args: argparse.Namespace) -> int:
    """Run the lifespan on its own (no web server) until a bound, the bot's end or Ctrl-C."""
    duration = args.duration if args.duration is not None else math.inf
    async with bot_lifespan(args)(None) as state:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if math.isinf(duration) else duration):
                return int(await asyncio.shield(state["bot"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(run(args))
        else:
            asyncio.run(run(args))
    except KeyboardInterrupt:
        return 0
    except UTDStreamError as error:
        print(f"asyncio_bot: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
