"""Presign, upload and download through the engine's object store, and their refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import trio.testing

from utd_trio import Attachment, ConnectionState, ErrorCode, Signaling, UTDStreamError
from utd_trio.testing import Engine
from utd_trio.testing._media import MAX_MEDIA_SIZE, MediaStore

from ._helpers import raw, session

pytestmark = pytest.mark.both_loops

PRESIGN = "/api/v1/media/presign"


def _stored(engine: Engine) -> MediaStore:
    return engine.state.domain(MediaStore)


async def _download(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(url)


async def test_presign_answers_a_ticket_for_the_engine_store(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            ticket = await sig.presign_upload("cat.png", "image/png", 3, "dm:alice:bob")
            assert ticket.method == "PUT"
            assert dict(ticket.headers) == {"Content-Type": "image/png"}
            assert ticket.upload_url.startswith(utd_engine.base_url + "/")
            assert ticket.file_url == f"{utd_engine.base_url}/media/files/{ticket.key}"
            assert ticket.key.endswith("/cat.png")
            assert ticket.expires_in == 900
            assert (await _download(ticket.file_url)).status_code == 404  # not uploaded yet


async def test_upload_bytes_round_trip(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            data = bytes(range(256)) * 10
            attachment = await sig.upload(
                data, content_type="application/octet-stream", filename="blob.bin"
            )
            assert attachment == Attachment(
                url=attachment.url,
                key=attachment.key,
                content_type="application/octet-stream",
                size=len(data),
                name="blob.bin",
            )
            response = await _download(attachment.url)
            assert response.status_code == 200
            assert response.content == data
            assert response.headers["content-type"] == "application/octet-stream"


async def test_upload_a_file_path_streams_it(utd_engine: Engine, tmp_path: Path) -> None:
    with anyio.fail_after(20):
        path = tmp_path / "notes.txt"
        data = b"line of text\n" * 40_000  # 520 kB: many 64 KiB chunks
        await anyio.Path(path).write_bytes(data)
        async with session(utd_engine) as sig:
            attachment = await sig.upload(
                path, content_type="text/plain", conversation_id="dm:alice:bob"
            )
            assert (attachment.name, attachment.size) == ("notes.txt", len(data))
            response = await _download(attachment.url)
            assert response.content == data
            assert response.headers["content-type"] == "text/plain"  # no charset added
            renamed = await sig.upload(str(path), content_type="text/plain", filename="n.txt")
            assert renamed.name == "n.txt"
            assert renamed.key != attachment.key


async def test_a_body_larger_than_presigned_is_413_and_nothing_is_stored(
    utd_engine: Engine,
) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            ticket = await sig.presign_upload("a.bin", "application/octet-stream", 10)
            response = await raw(
                sig.api,
                "PUT",
                ticket.upload_url,
                bearer=False,
                headers=dict(ticket.headers),
                content=b"x" * 11,
            )
            assert response.status_code == 413
            assert _stored(utd_engine).object(ticket.key) is None
            short = await raw(
                sig.api,
                "PUT",
                ticket.upload_url,
                bearer=False,
                headers=dict(ticket.headers),
                content=b"x" * 9,
            )
            assert short.status_code == 422
            assert _stored(utd_engine).object(ticket.key) is None
            assert (await _download(ticket.file_url)).status_code == 404


async def test_a_wrong_content_type_is_422_and_nothing_is_stored(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            ticket = await sig.presign_upload("a.png", "image/png", 4)
            response = await raw(
                sig.api,
                "PUT",
                ticket.upload_url,
                bearer=False,
                headers={"Content-Type": "image/jpeg"},
                content=b"\x89PNG",
            )
            assert response.status_code == 422
            assert "image/png" in response.json()["message"]
            assert _stored(utd_engine).object(ticket.key) is None
            ok = await raw(
                sig.api,
                "PUT",
                ticket.upload_url,
                bearer=False,
                headers=dict(ticket.headers),
                content=b"\x89PNG",
            )
            assert ok.status_code == 200
            stored = _stored(utd_engine).object(ticket.key)
            assert stored is not None
            assert stored.data == b"\x89PNG"


async def test_an_unknown_or_expired_upload_url_is_refused(
    utd_engine: Engine, autojump_clock: trio.testing.MockClock
) -> None:
    with anyio.fail_after(2000):
        async with session(utd_engine) as sig:
            ticket = await sig.presign_upload("a.txt", "text/plain", 2)
            unknown = ticket.upload_url.rsplit("/", 1)[0] + "/not-a-ticket"
            put: dict[str, Any] = {
                "bearer": False,
                "headers": dict(ticket.headers),
                "content": b"hi",
            }
            assert (await raw(sig.api, "PUT", unknown, **put)).status_code == 404
            autojump_clock.jump(901)
            assert (await raw(sig.api, "PUT", ticket.upload_url, **put)).status_code == 403
            assert _stored(utd_engine).object(ticket.key) is None


async def test_presign_over_25_mib_is_invalid_413(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            await sig.presign_upload("max.bin", "application/octet-stream", MAX_MEDIA_SIZE)
            with pytest.raises(UTDStreamError) as info:
                await sig.presign_upload("big.bin", "application/octet-stream", MAX_MEDIA_SIZE + 1)
            assert info.value.code is ErrorCode.INVALID
            assert info.value.status == 413


async def test_engine_refuses_bad_presign_bodies_with_422(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            good = {"filename": "a.txt", "content_type": "text/plain", "size": 1}
            for patch in (
                {"filename": ""},
                {"content_type": "text"},
                {"size": -1},
                {"size": True},
                {"size": "1"},
                {"conversation_id": ""},
            ):
                response = await raw(sig.api, "POST", PRESIGN, json={**good, **patch})
                assert response.status_code == 422, patch
            assert (await raw(sig.api, "POST", PRESIGN, json=good)).status_code == 200


MediaCall = Callable[[Signaling], Awaitable[object]]

BAD_CALLS: list[tuple[MediaCall, str]] = [
    (lambda s: s.presign_upload("", "text/plain", 1), "filename"),
    (lambda s: s.presign_upload("a", "text", 1), "content_type"),
    (lambda s: s.presign_upload("a", "text/plain", -1), "size"),
    (lambda s: s.presign_upload("a", "text/plain", 1, ""), "conversation_id"),
    (lambda s: s.upload(b"x", content_type="text/plain"), "filename"),
    (lambda s: s.upload(b"x", content_type="nope", filename="a"), "content_type"),
    (lambda s: s.upload(42, content_type="text/plain"), "data"),  # type: ignore[arg-type]
]


async def test_bad_arguments_raise_value_error_naming_the_field(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            for call, field in BAD_CALLS:
                with pytest.raises(ValueError, match=field):
                    await call(sig)
            assert sig.state is ConnectionState.CONNECTED
            await sig.upload(b"x", content_type="text/plain", filename="a.txt")


async def test_presign_and_upload_are_gated_by_chat(utd_engine: Engine) -> None:
    with anyio.fail_after(10):
        async with session(utd_engine) as sig:
            await utd_engine.set_plan(chat_enabled=False)
            calls: list[MediaCall] = [
                lambda s: s.presign_upload("a.txt", "text/plain", 1),
                lambda s: s.upload(b"x", content_type="text/plain", filename="a.txt"),
            ]
            for call in calls:
                with pytest.raises(UTDStreamError) as info:
                    await call(sig)
                assert info.value.code is ErrorCode.FEATURE_DISABLED
                assert info.value.is_chat_disabled
            assert _stored(utd_engine).objects == {}
