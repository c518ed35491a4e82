"""``utd-trio channel``: real processes against the engine on loopback (contract §11)."""

from __future__ import annotations

import json
import signal

import pytest
import trio

from utd_trio._cli import main
from utd_trio.testing import Engine

from ._helpers import client_args
from ._process import clean_env, finish, read_until, run, utd_trio

ROOM = "presence-room"


def backend_env(engine: Engine, secret: str | None = None) -> dict[str, str]:
    """The environment of a backend command: the project's server secret in UTD_APP_SECRET."""
    project = engine.default_project
    return {**clean_env(), "UTD_APP_SECRET": secret or project.app_secret}


def backend_args(engine: Engine) -> list[str]:
    """Where a backend command goes (the secret is in the environment)."""
    return ["--base-url", engine.base_url, "--app-id", engine.default_project.app_id]


async def test_listen_sees_members_and_a_client_event_from_another_process(
    utd_engine: Engine,
) -> None:
    listen = ["channel", "listen", ROOM, *client_args(utd_engine, "alice"), "--color=never"]
    trigger = ["channel", "trigger", ROOM, "client-wave", '{"text": "hi"}']
    with trio.fail_after(45):
        async with utd_trio(*listen, "--user-info", '{"name": "Alice"}') as alice:
            joined = await read_until(alice.stdout, b"member(s):")
            assert b'1 member(s): alice {"name":"Alice"}' in joined
            status, out, err = await run(*trigger, *client_args(utd_engine, "bob"))
            assert (status, err) == (0, "")
            assert f'{ROOM}: sent client-wave: {{"text":"hi"}} (1 other member(s) there)' in out
            seen = (await read_until(alice.stdout, b"bob left")).decode()
            alice.send_signal(signal.SIGINT)
            status, err = await finish(alice)
        await utd_engine.wait_socket_count("alice", 0)
    assert (status, err) == (130, "utd-trio channel listen: interrupted\n")
    lines = [line.split(maxsplit=3)[3] for line in seen.splitlines() if "alice" in line]
    assert lines[-3:] == [
        f"{ROOM}: bob joined",
        f'{ROOM}: client-wave from bob: {{"text":"hi"}}',
        f"{ROOM}: bob left",
    ]


async def test_broadcast_list_and_users_as_the_backend(utd_engine: Engine) -> None:
    secret = utd_engine.default_project.app_secret
    env = backend_env(utd_engine)
    listen = ["channel", "listen", ROOM, *client_args(utd_engine, "alice"), "--json"]
    with trio.fail_after(60):
        async with utd_trio(*listen, "--max-events", "1") as alice:
            await read_until(alice.stdout, b"joined")
            listing = await run("channel", "list", *backend_args(utd_engine), env=env)
            users = await run("channel", "users", ROOM, *backend_args(utd_engine), env=env)
            sent = await run(
                "channel",
                "broadcast",
                f"{ROOM},news",
                "announce",
                '["all", 1]',
                *backend_args(utd_engine),
                env=env,
            )
            out = (await read_until(alice.stdout, b"ChannelEvent")).decode()
            status, err = await finish(alice)
    assert (status, err) == (0, "")
    assert listing == (0, f"{ROOM}  1 subscription(s), 1 user(s)\n", "")
    assert users == (0, "alice\n", "")
    assert sent == (0, f'broadcast announce to {ROOM}, news: ["all",1]\n', "")
    (record,) = [json.loads(line) for line in out.splitlines() if "ChannelEvent" in line]
    event = {"type": "ChannelEvent", "channel": ROOM, "event": "announce", "data": ["all", 1]}
    assert record["event"] == {**event, "user_id": None}
    assert all(secret not in text for result in (listing, users, sent) for text in result[1:])


async def test_listen_reports_the_resubscription_after_a_drop(utd_engine: Engine) -> None:
    listen = ["channel", "listen", ROOM, *client_args(utd_engine, "alice"), "--color=never"]
    with trio.fail_after(30):
        async with utd_trio(*listen, "--max-events", "3") as alice:
            await read_until(alice.stdout, b"joined")
            await utd_engine.drop_sockets("alice", code=1011)
            out = (await read_until(alice.stdout, b"members now")).decode()
            status, err = await finish(alice)
    assert (status, err) == (0, "")
    assert "disconnected (code 1011" in out
    assert "connected (generation 2)" in out
    assert f"{ROOM}: subscribed again after the reconnect (generation 2)" in out
    assert f"{ROOM}: members now; 1 member(s): alice" in out


async def test_trigger_refuses_bad_json_data() -> None:
    argv = ["--app-id", "app", "--app-key", "key", "--user", "bob"]
    with trio.fail_after(30):
        status, out, err = await run("channel", "trigger", ROOM, "client-x", "hello", *argv)
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == (
        "utd-trio channel trigger: error: argument DATA: not valid JSON (Expecting value at "
        """column 1): 'hello'; a string needs JSON quotes: '"hello"'"""
    )


def parse_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The last stderr line of ``utd-trio ARGV`` refused by the parser (status 2)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    return capsys.readouterr().err.splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["trigger", "room", "client-x", "1"],
            "utd-trio channel trigger: error: argument NAME: 'room' is a public channel; "
            "client events need a private- or presence- channel (e.g. presence-room)",
        ),
        (
            ["trigger", ROOM, "wave", "1"],
            "utd-trio channel trigger: error: argument EVENT: a client event's name starts "
            "with 'client-' and has at most 200 characters (e.g. client-hello), got 'wave'",
        ),
        (
            ["broadcast", ROOM, "client-news", "1"],
            "utd-trio channel broadcast: error: argument EVENT: client-… names are for client "
            "events (`utd-trio channel trigger`); a broadcast needs another name, got "
            "'client-news'",
        ),
        (
            ["broadcast", f"{ROOM},a b", "news", "1"],
            "utd-trio channel broadcast: error: argument NAME: a channel name must be 1–164 "
            "characters of A-Z a-z 0-9 _ - = @ , . ; got 'a b'",
        ),
        (
            ["users", "private-x"],
            "utd-trio channel users: error: argument NAME: only presence- channels have "
            "users; 'private-x' is private",
        ),
        (
            ["listen", ROOM, "--user", "a", "--user-info", "[1]"],
            "utd-trio channel listen: error: argument --user-info: must be a JSON object "
            """like '{"name": "Alice"}', got '[1]'""",
        ),
    ],
    ids=["public-trigger", "not-client-event", "client-broadcast", "bad-name", "users", "info"],
)
def test_mistakes_caught_by_the_parser_name_the_argument(
    capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    assert parse_error(capsys, "channel", *argv) == line


async def test_backend_mistakes_name_the_flag_and_never_show_the_secret(
    utd_engine: Engine,
) -> None:
    argv = ["channel", "broadcast", ROOM, "news", "1", *backend_args(utd_engine)]
    wrong = "not-the-secret-123"
    with trio.fail_after(30):
        missing = await run(*argv)
        refused = await run(*argv, env=backend_env(utd_engine, wrong))
    assert missing == (
        2,
        "",
        "utd-trio channel broadcast: missing --app-secret (or UTD_APP_ID / UTD_APP_SECRET): "
        "backend calls need the project's server secret\n",
    )
    assert refused[:2] == (1, "")
    assert refused[2].startswith("utd-trio channel broadcast: bad credentials")
    assert "--app-secret" in refused[2]
    assert wrong not in refused[2]


async def test_signaling_off_is_the_feature_disabled_message(utd_engine: Engine) -> None:
    await utd_engine.set_plan(signaling_enabled=False)
    listen = ["channel", "listen", ROOM, *client_args(utd_engine, "alice")]
    broadcast = ["channel", "broadcast", ROOM, "news", "1", *backend_args(utd_engine)]
    with trio.fail_after(30):
        as_user = await run(*listen)
        as_backend = await run(*broadcast, env=backend_env(utd_engine))
    for command, (status, out, err) in (("listen", as_user), ("broadcast", as_backend)):
        assert (status, err.count("\n")) == (1, 1), err
        assert err.startswith(f"utd-trio channel {command}: signaling is not enabled"), err
        assert "Traceback" not in out + err


async def test_listen_into_a_closed_pipe_stops_quietly(utd_engine: Engine) -> None:
    listen = ["channel", "listen", ROOM, *client_args(utd_engine, "alice"), "--json"]
    with trio.fail_after(30):
        async with utd_trio(*listen) as alice:
            await read_until(alice.stdout, b"joined")  # `| head -2`
            assert alice.stdout is not None
            await alice.stdout.aclose()
            await utd_engine.drop_sockets("alice")  # events to write into the closed pipe
            status, err = await finish(alice)
        await utd_engine.wait_socket_count("alice", 0)
    assert (status, err) == (141, "")
