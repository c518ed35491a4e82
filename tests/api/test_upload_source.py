"""The upload helpers without the network: sizing, streaming a file, headers, URL policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from utd_trio import ErrorCode, UTDStreamError
from utd_trio._rest._upload import CHUNK_SIZE, check_upload_url, open_source, put_headers

pytestmark = pytest.mark.both_loops


async def test_bytes_source() -> None:
    source = await open_source(bytearray(b"hello"), "hi.txt")
    assert (source.size, source.name, source.body()) == (5, "hi.txt", b"hello")
    assert put_headers({"Content-Type": "text/plain"}, source) == {"Content-Type": "text/plain"}


@pytest.mark.parametrize("as_str", [True, False])
async def test_file_source_streams_exactly_its_size(tmp_path: Path, as_str: bool) -> None:
    payload = os.urandom(CHUNK_SIZE * 2 + 123)
    path = tmp_path / "photo.jpg"
    path.write_bytes(payload)
    source = await open_source(str(path) if as_str else path, None)
    assert (source.size, source.name, source.data) == (len(payload), "photo.jpg", None)
    body = source.body()
    assert not isinstance(body, bytes)
    chunks = [chunk async for chunk in body]
    assert b"".join(chunks) == payload
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
    headers = put_headers({"Content-Type": "image/jpeg"}, source)
    assert headers == {"Content-Type": "image/jpeg", "Content-Length": str(len(payload))}
    assert put_headers({"content-length": "1"}, source) == {"content-length": "1"}


async def test_file_source_keeps_an_explicit_filename(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert (await open_source(path, "report.pdf")).name == "report.pdf"


async def test_file_that_shrinks_mid_upload_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * 100)
    source = await open_source(path, None)
    path.write_bytes(b"a" * 10)
    with pytest.raises(UTDStreamError) as info:
        async for _ in source.body():  # type: ignore[union-attr]
            pass
    assert info.value.code is ErrorCode.INVALID


async def test_file_that_grows_sends_only_the_announced_size(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * 10)
    source = await open_source(path, None)
    path.write_bytes(b"a" * 100)
    body = source.body()
    assert not isinstance(body, bytes)
    assert b"".join([chunk async for chunk in body]) == b"a" * 10


@pytest.mark.parametrize(
    ("url", "base", "allow_insecure", "expected"),
    [
        (
            "https://r2.example.com/u/1?sig=x",
            "https://e.com",
            False,
            "https://r2.example.com/u/1?sig=x",
        ),
        ("http://127.0.0.1:8080/u/1", "https://e.com", False, "http://127.0.0.1:8080/u/1"),
        ("http://localhost/u/1", "https://e.com", False, "http://localhost/u/1"),
        ("http://r2.example.com/u/1", "https://e.com", False, None),
        ("http://r2.example.com/u/1", "https://e.com", True, "http://r2.example.com/u/1"),
        ("ftp://r2.example.com/u/1", "https://e.com", True, None),
        ("/media/u/1?sig=x", "https://e.com", False, "https://e.com/media/u/1?sig=x"),
        ("/media/u/1", "http://127.0.0.1:9", False, "http://127.0.0.1:9/media/u/1"),
        ("/media/u/1", "http://e.com", False, None),
    ],
)
def test_upload_url_policy(url: str, base: str, allow_insecure: bool, expected: str | None) -> None:
    if expected is not None:
        assert check_upload_url(url, base_url=base, allow_insecure=allow_insecure) == expected
    else:
        with pytest.raises(UTDStreamError) as info:
            check_upload_url(url, base_url=base, allow_insecure=allow_insecure)
        assert info.value.code is ErrorCode.PROTOCOL
