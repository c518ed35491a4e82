"""TLS policy for the base URL and the WebSocket URL (protocol §1, §5)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from utd_trio._protocol._urls import (
    UpgradeTarget,
    check_base_url,
    is_loopback,
    redact_url,
    upgrade_target,
    ws_url_with_token,
)

# --- loopback ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        pytest.param("127.0.0.1", True, id="127.0.0.1"),
        pytest.param("127.1.2.3", True, id="127.x.y.z"),
        pytest.param("127.255.255.254", True, id="127-top"),
        pytest.param("::1", True, id="::1"),
        pytest.param("[::1]", True, id="[::1]"),
        pytest.param("localhost", True, id="localhost"),
        pytest.param("LOCALHOST", True, id="LOCALHOST"),
        pytest.param("128.0.0.1", False, id="128.0.0.1"),
        pytest.param("10.0.0.1", False, id="private"),
        pytest.param("0.0.0.0", False, id="any"),
        pytest.param("::", False, id="::"),
        pytest.param("localhost.evil.com", False, id="localhost-prefix"),
        pytest.param("127.0.0.1.evil.com", False, id="ip-prefix"),
        pytest.param("evil-localhost", False, id="suffix"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="None"),
    ],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- base URL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://engine.udt-stream.com", "https://engine.udt-stream.com", id="default"
        ),
        pytest.param("https://engine.udt-stream.com/", "https://engine.udt-stream.com", id="slash"),
        pytest.param("https://h.example/api//", "https://h.example/api", id="path-slashes"),
        pytest.param("  https://h.example  ", "https://h.example", id="whitespace"),
        pytest.param("https://h.example:8443/", "https://h.example:8443", id="port"),
        pytest.param("http://127.0.0.1:8080/", "http://127.0.0.1:8080", id="http-127.0.0.1"),
        pytest.param("http://127.9.8.7", "http://127.9.8.7", id="http-127.x.y.z"),
        pytest.param("http://[::1]:8080", "http://[::1]:8080", id="http-::1"),
        pytest.param("http://localhost:8000/", "http://localhost:8000", id="http-localhost"),
    ],
)
def test_check_base_url_accepts(url: str, expected: str) -> None:
    assert check_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("engine.udt-stream.com", id="no-scheme"),
        pytest.param("ftp://engine.example", id="ftp"),
        pytest.param("wss://engine.example", id="ws-scheme"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("https://", id="no-host"),
        pytest.param("https:///path", id="no-host-path"),
        pytest.param("http://engine.example", id="http-remote"),
        pytest.param("http://10.0.0.5:8080", id="http-private-ip"),
        pytest.param("http://localhost@evil.example", id="userinfo-trick"),
    ],
)
def test_check_base_url_refuses(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        check_base_url(url)


def test_check_base_url_refuses_non_strings() -> None:
    with pytest.raises(ValueError, match="base_url"):
        check_base_url(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://engine.example/", "http://engine.example", id="http-remote"),
        pytest.param("http://10.0.0.5:8080", "http://10.0.0.5:8080", id="http-private-ip"),
    ],
)
def test_check_base_url_allow_insecure(url: str, expected: str) -> None:
    assert check_base_url(url, allow_insecure=True) == expected


def test_allow_insecure_does_not_allow_other_schemes() -> None:
    with pytest.raises(ValueError, match="base_url"):
        check_base_url("ftp://engine.example", allow_insecure=True)


# --- WebSocket URL -----------------------------------------------------------------------------


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.parametrize(
    ("ws_url", "expected_query"),
    [
        pytest.param("wss://h.example/ws", {"token": ["TOK"]}, id="adds-token"),
        pytest.param("wss://h.example/ws?v=1", {"v": ["1"], "token": ["TOK"]}, id="keeps-params"),
        pytest.param("wss://h.example/ws?token=MINE", {"token": ["MINE"]}, id="keeps-existing"),
        pytest.param("ws://127.0.0.1:9000/ws", {"token": ["TOK"]}, id="ws-loopback"),
        pytest.param("ws://[::1]:9000/ws", {"token": ["TOK"]}, id="ws-ipv6-loopback"),
        pytest.param("ws://localhost/ws", {"token": ["TOK"]}, id="ws-localhost"),
    ],
)
def test_ws_url_with_token(ws_url: str, expected_query: dict[str, list[str]]) -> None:
    url = ws_url_with_token(ws_url, "TOK")
    assert _query(url) == expected_query
    assert urlsplit(url)[:3] == urlsplit(ws_url)[:3]  # scheme, host and path untouched


def test_ws_token_is_url_encoded() -> None:
    url = ws_url_with_token("wss://h.example/ws", "a+b/c=d&e")
    assert _query(url) == {"token": ["a+b/c=d&e"]}


@pytest.mark.parametrize(
    "ws_url",
    [
        pytest.param("ws://engine.example/ws", id="tls-downgrade"),
        pytest.param("ws://10.1.2.3/ws", id="tls-downgrade-ip"),
        pytest.param("https://engine.example/ws", id="https"),
        pytest.param("http://127.0.0.1/ws", id="http-loopback"),
        pytest.param("engine.example/ws", id="no-scheme"),
        pytest.param("wss:///ws", id="no-host"),
        pytest.param("", id="empty"),
    ],
)
def test_ws_url_with_token_refuses(ws_url: str) -> None:
    with pytest.raises(ValueError, match="ws_url"):
        ws_url_with_token(ws_url, "TOK")


def test_ws_url_refusal_never_shows_the_token() -> None:
    with pytest.raises(ValueError, match="downgrade") as info:
        ws_url_with_token("ws://engine.example/ws?token=SECRET", "SECRET")
    assert "SECRET" not in str(info.value)


def test_ws_url_allow_insecure_permits_plain_ws() -> None:
    url = ws_url_with_token("ws://engine.example/ws", "TOK", allow_insecure=True)
    assert url == "ws://engine.example/ws?token=TOK"


def test_ws_url_allow_insecure_does_not_permit_other_schemes() -> None:
    with pytest.raises(ValueError, match="ws_url"):
        ws_url_with_token("http://engine.example/ws", "TOK", allow_insecure=True)


# --- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("wss://h/ws?token=SECRET", "wss://h/ws?token=***", id="token"),
        pytest.param("wss://h/ws?a=1&token=SECRET", "wss://h/ws?a=***&token=***", id="all-values"),
        pytest.param("wss://h/ws?token=", "wss://h/ws?token=***", id="blank"),
        pytest.param("wss://h/ws", "wss://h/ws", id="no-query"),
        pytest.param("https://h/p?X-Sig=S%2BE#frag", "https://h/p?X-Sig=***#frag", id="fragment"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redacting_a_token_url_hides_the_token() -> None:
    url = ws_url_with_token("wss://h.example/ws?v=2", "tok-SECRET")
    redacted = redact_url(url)
    assert "SECRET" not in redacted
    assert redacted.startswith("wss://h.example/ws?")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "wss://h.example/ws?token=t",
            UpgradeTarget("h.example", 443, True, "h.example", "/ws?token=t"),
            id="wss-default-port",
        ),
        pytest.param(
            "ws://127.0.0.1:8080/ws",
            UpgradeTarget("127.0.0.1", 8080, False, "127.0.0.1:8080", "/ws"),
            id="ws-port",
        ),
        pytest.param(
            "ws://h.example:443/ws",
            UpgradeTarget("h.example", 443, False, "h.example:443", "/ws"),
            id="ws-on-443-keeps-the-port",
        ),
        pytest.param(
            "ws://[::1]:9000/ws?a=1",
            UpgradeTarget("::1", 9000, False, "[::1]:9000", "/ws?a=1"),
            id="ipv6-bracketed",
        ),
        pytest.param(
            "wss://[2001:db8::1]",
            UpgradeTarget("2001:db8::1", 443, True, "[2001:db8::1]", "/"),
            id="ipv6-no-path",
        ),
    ],
)
def test_upgrade_target(url: str, expected: UpgradeTarget) -> None:
    assert upgrade_target(url) == expected
