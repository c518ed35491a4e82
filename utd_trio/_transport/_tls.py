"""The default TLS context: built once per process and shared by every session.

Building a context loads the whole CA bundle (about 1 MiB and tens of milliseconds), so a
context per session would dominate the memory and start-up cost of many-session processes.
An `ssl.SSLContext` is safe to share between connections and tasks.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The verifying context used when the caller passes none (httpx's default trust)."""
    return httpx.create_ssl_context()
