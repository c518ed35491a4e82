"""Failures of the real ``utd-trio`` name the flag or the URL involved, in one line."""

from __future__ import annotations

import functools
import io
import time

import pytest
import trio

from utd_trio import Disconnected
from utd_trio._cli._format import EventPrinter
from utd_trio.testing import Engine

from ._helpers import closed_port
from ._process import run

CREDS = ("--app-id", "app_test", "--app-key", "key_test")


def last_line(err: str) -> str:
    assert "Traceback" not in err, err
    return err.splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["listen", "--user", "no spaces"], "argument --user: the user id must be"),
        (["listen", "--user", "a", "--duration", "-1"], "argument --duration: must be a number"),
        (["presence", "b", "--user", "a", "--watch", "--duration", "x"], "argument --duration:"),
        (["send", "--user", "a", "--to", "b c", "hi"], "argument --to: the user id must be"),
        (["presence", "a b", "--user", "a"], "argument USER: the user id must be"),
    ],
    ids=["user", "duration", "duration-nan", "send-to", "presence-user"],
)
async def test_bad_values_name_the_flag(argv: list[str], expected: str) -> None:
    with trio.fail_after(20):
        status, out, err = await run(*argv, *CREDS)
    assert (status, out) == (2, "")
    assert expected in last_line(err)
    assert "user_id" not in err
    assert "`seconds`" not in err


async def test_plain_http_names_insecure() -> None:
    with trio.fail_after(20):
        status, _, err = await run(
            "listen", "--user", "a", "--base-url", "http://example.com", *CREDS
        )
    assert status == 2
    line = last_line(err)
    assert line.startswith("utd-trio listen: --base-url ")
    assert "is plain http://" in line
    assert line.endswith("use https:// or pass --insecure")
    assert "allow_insecure" not in err


@pytest.mark.parametrize("command", [["listen"], ["presence", "bob"]])
async def test_base_url_with_the_api_path(utd_engine: Engine, command: list[str]) -> None:
    url = f"{utd_engine.base_url}/api/v1"
    with trio.fail_after(20):
        status, _, err = await run(*command, "--user", "alice", "--base-url", url, *CREDS)
    assert status == 1
    assert last_line(err) == (
        f"utd-trio {command[0]}: no UTD-Stream engine at {url}: POST {url}/api/v1/auth/session "
        "answered 404 Not Found; check --base-url: it is the engine's root URL, like "
        "http://127.0.0.1:8080, without /api/v1"
    )


async def _answer_501(stream: trio.SocketStream) -> None:
    async with stream:
        request = b""
        while b"\r\n\r\n" not in request and (chunk := await stream.receive_some(4096)):
            request += chunk
        await stream.send_all(
            b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )


@pytest.mark.parametrize("command", [["presence", "bob"], ["listen"]])
async def test_an_unrelated_server_says_501_once(command: list[str]) -> None:
    started = time.monotonic()
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, _answer_501, 0, host="127.0.0.1")
            (listener,) = await nursery.start(serve)
            url = f"http://127.0.0.1:{listener.socket.getsockname()[1]}"
            status, _, err = await run(*command, "--user", "a", "--base-url", url, *CREDS)
            nursery.cancel_scope.cancel()
    assert status == 1
    line = last_line(err)
    assert line.startswith(f"utd-trio {command[0]}: no UTD-Stream engine at {url}: "), line
    # Counted without the URL: a port such as 45015 holds "501" too.
    assert line.replace(url, "<url>").count("501") == 1, line
    assert time.monotonic() - started < 8  # at once, not after the 10 s connect timeout


async def test_a_refused_port_is_named_fast() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with trio.fail_after(20):
        status, _, err = await run("listen", "--user", "alice", "--base-url", url, *CREDS)
    assert status == 1
    assert len(err.splitlines()) == 1, err
    line = last_line(err)
    assert "refused" in line
    assert url in line
    assert "sub-exception" not in line
    assert time.monotonic() - started < 8  # well within the 10 s connect timeout


def test_repeated_reconnect_failures_are_not_repeated() -> None:
    out = io.StringIO()
    printer = EventPrinter(out)
    error = "POST http://127.0.0.1:1/api/v1/auth/session: connection refused"
    for retry_in in (0.5, 1.0, 2.0):
        event = Disconnected(code=None, reason=error, will_retry=True, retry_in=retry_in)
        printer.event("alice", event)
    printer.event("alice", Disconnected(code=None, reason="reset", will_retry=True, retry_in=4))
    lines = [line.split("alice ", 1)[1].strip() for line in out.getvalue().splitlines()]
    assert lines == [
        f"disconnected (no close code, {error}); reconnecting in 0.50 s",
        "still disconnected (same error); reconnecting in 1.00 s",
        "still disconnected (same error); reconnecting in 2.00 s",
        "disconnected (no close code, reset); reconnecting in 4.00 s",
    ]
