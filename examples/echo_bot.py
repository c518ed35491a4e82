"""Echo / support bot: answers every direct message it receives.

Try it against the local reference engine::

    utd-trio serve &
    python examples/echo_bot.py --user support
    utd-trio send --base-url http://127.0.0.1:8080 --app-id app_test --app-key key_test \
        --user alice --to support "hello?"             # in another terminal
    utd-trio listen ... --user alice                   # to see the reply

The bot marks each message read, shows "typing" while it "thinks", then replies. Because the
SDK recovers messages missed across a reconnect (`MessageReceived.recovered`), nothing sent
to the bot while its connection was down goes unanswered.

Connection settings come from ``--base-url/--app-id/--app-key`` or the environment
(``UTD_BASE_URL``, ``UTD_APP_ID``, ``UTD_APP_KEY``); the defaults match ``utd-trio serve``.
``--max-replies`` and ``--duration`` bound the run (the tests use them).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import trio

from utd_trio import ChatMessage, MessageReceived, Signaling, UTDStreamError, open_signaling


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Echo / support bot.")
    parser.add_argument(
        "--base-url", default=os.environ.get("UTD_BASE_URL", "http://127.0.0.1:8080")
    )
    parser.add_argument("--app-id", default=os.environ.get("UTD_APP_ID", "app_test"))
    parser.add_argument("--app-key", default=os.environ.get("UTD_APP_KEY", "key_test"))
    parser.add_argument("--user", default="support", help="the bot's identity")
    parser.add_argument("--think", type=float, default=0.0, metavar="SECONDS", help="typing delay")
    parser.add_argument("--max-replies", type=int, metavar="N", help="stop after N replies")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    return parser.parse_args(argv)


def reply_to(message: ChatMessage) -> str:
    """What the bot answers."""
    if message.text:
        return f"echo: {message.text}"
    if message.attachment is not None:
        return f"thanks for {message.attachment.name or 'the file'} ({message.attachment.size} B)"
    return "echo: (empty message)"


async def answer(sig: Signaling, message: ChatMessage, think: float) -> None:
    """Mark ``message`` read, show typing for ``think`` seconds, then reply."""
    await sig.mark_read(message.conversation_id, message.seq)
    if think > 0:
        await sig.set_typing(to=message.sender, typing=True)
        await trio.sleep(think)
    reply = await sig.send_message(to=message.sender, text=reply_to(message))
    print(f"{message.sender}: {message.text!r} -> replied #{reply.seq}", flush=True)


async def run(
    args: argparse.Namespace, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Reply to direct messages until ``--max-replies``, ``--duration`` or Ctrl-C."""
    duration = args.duration if args.duration is not None else math.inf
    with trio.move_on_after(duration):
        async with (
            open_signaling(
                app_id=args.app_id, app_key=args.app_key, user_id=args.user, base_url=args.base_url
            ) as sig,
            sig.events(MessageReceived) as inbox,
        ):
            print(f"{args.user}: answering direct messages", flush=True)
            task_status.started()
            replies = 0
            async for event in inbox:
                if not isinstance(event, MessageReceived):
                    continue
                message = event.message
                # Only DMs to the bot; never its own messages (sent from another device).
                if message.sender == sig.user_id or message.group_id is not None:
                    continue
                await answer(sig, message, args.think)
                replies += 1
                if args.max_replies is not None and replies >= args.max_replies:
                    break


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        trio.run(run, args)
    except KeyboardInterrupt:
        return 0
    except UTDStreamError as error:
        print(f"echo_bot: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
