"""No secret (app key, server secret, user token) in any repr/str, log record (every logger at
DEBUG: ours incl. the WebSocket transport, httpx, httpcore, hypercorn, the engine) or exception
text, across a full session life: connect, reconnect (abrupt drop, 4001 re-mint), close, and
failed mints."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from utd_trio import Connected, Disconnected, UTDApi, UTDStreamError, open_signaling
from utd_trio.testing import ProjectConfig, open_engine

from .conftest import IO

pytestmark = pytest.mark.both_loops

KEY = "pk_LEAKCHECK_KEY_5b1e0c"
SECRET = "sk_LEAKCHECK_SECRET_9f27aa"
PROJECT = ProjectConfig(app_id="app_leak", app_key=KEY, app_secret=SECRET)


def _texts(err: BaseException) -> list[str]:
    texts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    cause = err.__cause__ or err.__context__
    while cause is not None:
        texts += [str(cause), repr(cause)]
        cause = cause.__cause__ or cause.__context__
    return texts


async def test_no_secret_leaks_across_a_session_life(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root: every logger, including third-party ones
    tokens: set[str] = set()
    texts: list[str] = []

    def record(sig: Any, events: list[Any]) -> None:
        texts.extend([repr(sig), str(sig), repr(sig.api), str(sig.api), repr(sig.capabilities)])
        if sig.client is not None:
            texts.extend([repr(sig.client), repr(sig.client.hello)])
        if sig.api.session is not None:
            tokens.add(sig.api.session.user_token)
            texts.append(repr(sig.api.session))
        texts.extend(repr(ev) for ev in events)

    with anyio.fail_after(IO):
        async with open_engine([PROJECT]) as engine:
            # 1. App-key session: connect, abrupt drop, 4001 (re-mint), close.
            async with open_signaling(
                app_id="app_leak", app_key=KEY, user_id="alice", base_url=engine.base_url
            ) as sig:
                async with sig.events(Connected, Disconnected) as stream:
                    record(sig, [])
                    for code in (None, 4001):
                        await engine.drop_sockets("alice", code=code)
                        events = [await stream.receive()]
                        while not isinstance(events[-1], Connected):
                            events.append(await stream.receive())
                        record(sig, events)
            record(sig, [sig.last_disconnect])

            # 2. Server-secret backend handing sessions to the app through a provider.
            async with UTDApi(
                app_id="app_leak", app_secret=SECRET, base_url=engine.base_url
            ) as backend:
                texts.extend([repr(backend), str(backend)])

                async def provider() -> Mapping[str, Any]:
                    session = await backend.mint_session("bob", bind=False)
                    tokens.add(session.user_token)
                    return {"user_token": session.user_token, "ws_url": engine.ws_url}

                async with open_signaling(
                    app_id="app_leak",
                    user_id="bob",
                    session_provider=provider,
                    base_url=engine.base_url,
                ) as sig:
                    async with sig.events(Connected) as stream:
                        await engine.drop_sockets("bob", code=1011)
                        await stream.receive()
                    record(sig, [])

            # 3. Failed mints: wrong key, injected 401/500, banned.
            for key, inject in ((KEY + "x", None), (KEY, 401), (KEY, 500)):
                if inject is not None:
                    engine.fail_next_mints(50, inject)
                with pytest.raises(UTDStreamError) as info:
                    async with open_signaling(
                        app_id="app_leak",
                        app_key=key,
                        user_id="carol",
                        base_url=engine.base_url,
                        connect_timeout=0.5,
                        backoff_base=0.05,
                    ):
                        pytest.fail("must not connect")
                texts.extend(_texts(info.value))
                engine.fail_next_mints(0, 500)
                engine.state.mint_failures.clear()
            await engine.ban("dave")
            with pytest.raises(UTDStreamError) as info:
                async with open_signaling(
                    app_id="app_leak", app_key=KEY, user_id="dave", base_url=engine.base_url
                ):
                    pytest.fail("banned")
            texts.extend(_texts(info.value))

    texts.append(caplog.text)
    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(repr(record.args) for record in caplog.records)
    assert len(tokens) >= 5  # three app-key generations, two provider generations
    assert any(r.name == "utd_trio.websocket" for r in caplog.records), "ws logs were on"
    assert any(r.name.startswith("httpcore") for r in caplog.records), "http logs were on"
    for secret in (KEY, SECRET, *tokens):
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret[:8]}… leaked in: {[t[:300] for t in leaks[:3]]}"
