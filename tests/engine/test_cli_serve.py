"""``utd-trio serve``: arguments, banner, config files and start-up errors, as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
import trio

from utd_trio._cli import build_parser, main

from ._serve_process import CONFIG, SERVE, running_serve, serve_once, write_config

TIMEOUT = 60


def test_serve_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.tls, args.control, args.config) == (
        "127.0.0.1",
        8080,
        False,
        False,
        None,
    )
    assert (args.app_id, args.heartbeat_interval, args.mint_rate_limit) == (None, None, None)


def test_every_serve_option_has_help_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--host", "--port", "--tls", "--ca-file", "--control", "--config", "--app-id"):
        assert option in text
    for default in ("127.0.0.1", "8080", "app_test", "key_test", "secret_test", "25", "3600"):
        assert f"default: {default}" in text, default
    assert "(default: 120" in text


def test_command_is_required_and_serve_is_discovered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [[], ["--no-chat", "--app-id", "app_cli"]])
async def test_serve_runs_until_interrupted(extra: list[str]) -> None:
    with trio.fail_after(TIMEOUT):
        async with running_serve(*extra) as served:
            async with httpx.AsyncClient(base_url=served.base_url) as client:
                response = await client.post(
                    "/api/v1/auth/session",
                    headers={
                        "X-App-Id": served.value("app id"),
                        "X-App-Key": served.value("app key"),
                    },
                    json={"identity": "alice"},
                )
                control = await client.get("/_control/stats")
    assert served.base_url.startswith("http://127.0.0.1:")
    assert response.status_code == 200
    body = response.json()
    assert body["ws_url"] == served.ws_url
    assert body["messaging_enabled"] is ("--no-chat" not in extra)
    assert control.status_code == 404  # the control plane is off unless asked for


async def test_config_file_projects_in_banner_and_mints(tmp_path: Path) -> None:
    with trio.fail_after(TIMEOUT):
        async with running_serve("--config", str(write_config(tmp_path))) as served:
            assert served.values("app id") == ["a1", "a2"]
            assert served.values("app key") == ["k1", "k2"]
            assert served.values("app secret") == ["s1", "s2"]
            assert served.values("banned") == ["a1/mallory"]
            async with httpx.AsyncClient(base_url=served.base_url) as client:

                async def mint(app: str, cred: dict[str, str], identity: str) -> httpx.Response:
                    return await client.post(
                        "/api/v1/auth/session",
                        headers={"X-App-Id": app, **cred},
                        json={"identity": identity},
                    )

                plain = await mint("a1", {"X-App-Key": "k1"}, "alice")
                banned = await mint("a1", {"X-App-Key": "k1"}, "mallory")
                hardened = await mint("a2", {"X-App-Key": "k2"}, "bob")
                odd = await mint("a2", {"X-App-Secret": "s2"}, "bob")
    assert plain.json()["limits"] == {"history_days": 30, "max_group_members": 5}
    assert (banned.status_code, banned.json()["code"]) == (403, "banned")
    assert (hardened.status_code, hardened.json()["code"]) == (
        403,
        "appkey_identity_mint_disabled",
    )
    body = odd.json()
    assert body["signaling_enabled"] is False
    assert "messaging_enabled" not in body  # "absent"
    assert "limits" not in body  # null


async def test_config_timers_and_flag_override(tmp_path: Path) -> None:
    config = {**CONFIG, "heartbeat_interval": 7, "token_ttl": 90}
    path = write_config(tmp_path, config)
    with trio.fail_after(TIMEOUT):
        async with running_serve("--control", "--config", str(path), "--token-ttl", "60") as served:
            async with httpx.AsyncClient(base_url=served.base_url) as client:
                settings = (await client.get("/_control/config")).json()
    assert settings["heartbeat_interval"] == 7
    assert settings["token_ttl"] == 60  # the command line wins over the file
    assert settings["ring_timeout"] == 30


def _one_line_error(status: int, err: str, flag: str, expected_status: int = 2) -> None:
    assert status == expected_status, err
    assert "Traceback" not in err
    assert flag in err, err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1, err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--port", "-5"], "--port"),
        (["--port", "99999"], "--port"),
        (["--port", "http"], "--port"),
        (["--mint-rate-limit", "-3"], "--mint-rate-limit"),
        (["--heartbeat-interval", "0"], "--heartbeat-interval"),
        (["--ring-timeout", "nan"], "--ring-timeout"),
        (["--ca-file", "/tmp/ca.pem"], "--ca-file"),
        (["--config", "/nonexistent/engine.json"], "--config"),
        (["--config", "{cfg}", "--app-id", "x"], "--config"),
    ],
)
async def test_bad_flag_values_are_one_line_errors(
    args: list[str], flag: str, tmp_path: Path
) -> None:
    args = [a.replace("{cfg}", str(write_config(tmp_path))) for a in args]
    status, _, err = await serve_once("--port", "0", *args)
    _one_line_error(status, err, flag)


BAD_CONFIGS = [
    ("{not json", "not valid JSON (line 1"),
    ("[]", "must be a JSON object"),
    ('{"projects": []}', "projects"),
    ('{"projects": [{"app_id": "a"}]}', "projects[0].app_key"),
    ('{"projects": [{"app_id": "a", "app_key": "k", "app_secret": "s", "limts": {}}]}', "limts"),
    (
        '{"projects": [{"app_id": "a", "app_key": "k", "app_secret": "s",'
        ' "messaging_enabled": "maybe"}]}',
        "messaging_enabled",
    ),
    (
        '{"projects": [{"app_id": "a", "app_key": "k", "app_secret": "s"}], "banned": {"b": []}}',
        "banned.b",
    ),
    (
        '{"projects": [{"app_id": "a", "app_key": "k", "app_secret": "s"}], "ring_timeout": -1}',
        "ring_timeout",
    ),
]


@pytest.mark.parametrize(("content", "needle"), BAD_CONFIGS)
def test_invalid_config_files_are_named(content: str, needle: str, tmp_path: Path) -> None:
    from utd_trio.testing._config_file import ConfigError, load_config

    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("content", "needle"), [BAD_CONFIGS[0], BAD_CONFIGS[5]])
async def test_invalid_config_file_is_a_one_line_error(
    content: str, needle: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    status, _, err = await serve_once("--port", "0", "--config", str(path))
    _one_line_error(status, err, "--config")
    assert needle in err, err


async def test_busy_port_is_a_one_line_error() -> None:
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    try:
        port = listeners[0].socket.getsockname()[1]
        status, _, err = await serve_once("--port", str(port))
    finally:
        for listener in listeners:
            await listener.aclose()
    _one_line_error(status, err, f"--port {port}", expected_status=1)
    assert "already in use" in err


async def test_unknown_host_is_a_one_line_error() -> None:
    status, _, err = await serve_once("--host", "nosuchhost.invalid", "--port", "0")
    _one_line_error(status, err, "--host nosuchhost.invalid", expected_status=1)


async def test_unwritable_ca_file_is_a_one_line_error() -> None:
    status, out, err = await serve_once("--port", "0", "--tls", "--ca-file", "/bad/path/ca.pem")
    _one_line_error(status, err, "--ca-file /bad/path/ca.pem")
    assert "Ctrl-C" not in out


def test_config_example_of_the_contract_parses(tmp_path: Path) -> None:
    from utd_trio.testing._config_file import load_config

    path = tmp_path / "c.json"
    path.write_text(json.dumps(CONFIG))
    config = load_config(path)
    assert [p.app_id for p in config.projects] == ["a1", "a2"]
    assert config.projects[1].chat_enabled is None
    assert config.projects[1].limits is None
    assert config.banned == (("a1", "mallory"),)


async def test_sigterm_exits_143() -> None:
    with trio.fail_after(TIMEOUT):
        process = await trio.lowlevel.open_process(
            [*SERVE, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            out = b""
            while b"Ctrl-C" not in out:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, out
                out += chunk
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 143
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
