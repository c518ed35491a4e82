"""A minimal, fast WebSocket server (trio + wsproto) that sends bursts of identical frames.

Run as a separate process by the receive benchmark, so its cost is not counted against the
client. Protocol (JSON text frames, as the engine's):

- on connect it sends ``connection.established`` (the SDK waits for this hello);
- ``ping`` → ``pong`` with the same ``ref``;
- ``bench.prepare {"n": N, "kind": "message"|"presence"}`` builds N frames (message ids
  and seqs never repeat across bursts, since the SDK swallows duplicate messages; already
  WebSocket-framed) and acks; ``bench.blast`` then writes them back to back, in large
  chunks, as fast as TCP takes them.

Prints ``{"ws_url": ...}`` once listening; exits when stdin closes or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)

from ._common import announce, wait_stdin_eof

CHUNK = 256 * 1024


def message_frame(i: int) -> dict[str, Any]:
    """A realistic ``message.new`` frame (about 400 bytes); ``seq`` and ``id`` vary."""
    return {
        "event": "message.new",
        "data": {
            "id": f"msg_01J9Z6W3XQ{i:010d}",
            "conversation_id": "dm:alice:bob",
            "seq": i + 1,
            "from": "bob",
            "to": "alice",
            "text": "Hey Alice, are we still on for the design review at three? I moved it.",
            "created_at": "2026-03-14T15:09:26.535Z",
            "client_id": "c_7f3a9b2e-4d1c-4e8a-9f6b-2a1c3d4e5f60",
            "metadata": {"priority": "normal", "thread": "design"},
        },
    }


def presence_frame(i: int) -> dict[str, Any]:
    """A realistic ``presence.update`` frame (about 110 bytes)."""
    return {
        "event": "presence.update",
        "data": {
            "user_id": f"user_{i % 1000:04d}",
            "online": i % 2 == 0,
            "last_seen_at": "2026-03-14T15:09:26.535Z",
        },
    }


KINDS = {"message": message_frame, "presence": presence_frame}


def text_frame(text: str) -> bytes:
    """One unmasked server→client text frame."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes([0x81, n])
    elif n < 65536:
        header = bytes([0x81, 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x81, 127]) + n.to_bytes(8, "big")
    return header + payload


_next = 0  # message ids and seqs are unique across bursts: the SDK drops duplicates


def build_burst(kind: str, n: int) -> list[bytes]:
    """N framed messages, joined into chunks of about ``CHUNK`` bytes."""
    global _next
    make = KINDS[kind]
    chunks: list[bytes] = []
    part: list[bytes] = []
    size = 0
    start, _next = _next, _next + n
    for i in range(start, start + n):
        frame = text_frame(json.dumps(make(i), separators=(",", ":")))
        part.append(frame)
        size += len(frame)
        if size >= CHUNK:
            chunks.append(b"".join(part))
            part, size = [], 0
    if part:
        chunks.append(b"".join(part))
    return chunks


async def handle(stream: trio.SocketStream) -> None:
    ws = WSConnection(ConnectionType.SERVER)
    burst: list[bytes] = []

    async def reply(event: str, data: dict[str, Any] | None, ref: object) -> None:
        frame: dict[str, Any] = {"event": event, "data": data or {}}
        if ref is not None:
            frame["ref"] = ref
        await stream.send_all(text_frame(json.dumps(frame, separators=(",", ":"))))

    try:
        while True:
            data = await stream.receive_some(65536)
            if not data:
                return
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, Request):
                    await stream.send_all(ws.send(AcceptConnection()))
                    await reply(
                        "connection.established",
                        {
                            "socket_id": "sock_bench",
                            "user_id": "bench",
                            "heartbeat_interval": 25,
                            "server_time": "2026-03-14T15:09:26.535Z",
                        },
                        None,
                    )
                elif isinstance(event, TextMessage):
                    frame = json.loads(event.data)
                    name, ref = frame.get("event"), frame.get("ref")
                    body = frame.get("data") or {}
                    if name == "ping":
                        await reply("pong", None, ref)
                    elif name == "bench.prepare":
                        burst = build_burst(str(body.get("kind", "message")), int(body["n"]))
                        await reply("ack", {"frames": int(body["n"])}, ref)
                    elif name == "bench.blast":
                        for chunk in burst:
                            await stream.send_all(chunk)
                    else:
                        await reply("ack", {}, ref)
                elif isinstance(event, Ping):
                    await stream.send_all(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    await stream.send_all(ws.send(event.response()))
                    return
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        return
    finally:
        await trio.aclose_forcefully(stream)


async def main(max_seconds: float) -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    announce({"ws_url": f"ws://127.0.0.1:{port}/ws"})
    with trio.move_on_after(max_seconds):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, handle, listeners)
            await wait_stdin_eof()
            nursery.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-seconds", type=float, default=900.0)
    trio.run(main, parser.parse_args().max_seconds)
