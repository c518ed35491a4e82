"""Upload helpers of `UTDApi.upload`: the source of the bytes and the presigned PUT target.

No network here: these turn the caller's ``data`` into a size, a name and a request body
(bytes, or an async iterator streaming a file in chunks), and check that the engine's
``upload_url`` does not downgrade TLS.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import anyio

from .._errors import ErrorCode, UTDStreamError
from .._protocol._urls import is_loopback
from .._protocol._validate import shown

__all__ = ["UploadData", "UploadSource", "check_upload_url", "open_source", "put_headers"]

UploadData = bytes | bytearray | memoryview | str | os.PathLike[str]
"""What `UTDApi.upload` accepts: the bytes themselves, or the path of a file to stream."""

CHUNK_SIZE = 64 * 1024
"""Bytes read from a file per chunk of a streamed upload."""


@dataclass(frozen=True, slots=True)
class UploadSource:
    """The bytes to upload: in memory (``data``) or a file streamed from ``path``."""

    size: int
    name: str | None
    data: bytes | None = None
    path: str | None = None

    def body(self) -> bytes | AsyncIterator[bytes]:
        """The request content: the bytes, or a fresh async iterator over the file."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return _file_chunks(self.path, self.size)


async def open_source(data: UploadData, filename: str | None) -> UploadSource:
    """Size and name the upload; a path is stat-ed (not read) so big files stream.

    Raises:
        ValueError: naming ``data`` for an unsupported type or a path that is not a regular
            file, or ``filename`` when bytes come without one.
        OSError: when the file cannot be stat-ed (e.g. it does not exist).

    """
    if isinstance(data, bytes | bytearray | memoryview):
        if filename is None:
            raise ValueError("filename is required when data is bytes")
        return UploadSource(size=len(data), name=filename, data=bytes(data))
    if not isinstance(data, str | os.PathLike):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"data must be bytes or a file path, got {type(data).__name__}")
    path = os.fspath(data)
    if not path:
        raise ValueError("data must be bytes or a non-empty file path")
    info = await anyio.Path(path).stat()
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"data path {shown(path)} is not a regular file")
    name = filename if filename is not None else os.path.basename(path)
    return UploadSource(size=info.st_size, name=name, path=path)


async def _file_chunks(path: str, size: int) -> AsyncIterator[bytes]:
    """Exactly ``size`` bytes of the file, in chunks; a file that shrank is an error."""
    async with await anyio.open_file(path, "rb") as file:
        remaining = size
        while remaining > 0:
            chunk = await file.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                raise UTDStreamError(
                    ErrorCode.INVALID, f"file {shown(path)} shrank while it was being uploaded"
                )
            remaining -= len(chunk)
            yield chunk


def check_upload_url(url: str, *, base_url: str, allow_insecure: bool) -> str:
    """The absolute URL to upload to (a relative ``upload_url`` is taken from ``base_url``).

    Raises:
        UTDStreamError: `ErrorCode.PROTOCOL` (the URL came from the engine) when it is not
            http(s), or is plain http to a non-loopback host without ``allow_insecure``.

    """
    url = urljoin(base_url + "/", url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UTDStreamError(ErrorCode.PROTOCOL, "presign upload_url is not an http(s) URL")
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise UTDStreamError(
            ErrorCode.PROTOCOL,
            "presign upload_url is plain http:// to a non-loopback host; refusing to "
            "downgrade TLS (pass allow_insecure=True to override)",
        )
    return url


def put_headers(ticket_headers: Mapping[str, str], source: UploadSource) -> dict[str, str]:
    """Exactly the ticket's headers, plus ``Content-Length`` for a streamed file.

    A streamed body would otherwise go out chunked, which presigned object-store URLs refuse.
    """
    headers = dict(ticket_headers)
    if source.path is not None and not any(k.lower() == "content-length" for k in headers):
        headers["Content-Length"] = str(source.size)
    return headers
