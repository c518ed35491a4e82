"""At most `MAX_IN_FLIGHT` REST exchanges at a time per httpx client, however many share it.

A load harness opens thousands of sessions at once on one shared ``http_client``. Left to
itself, httpx queues their mints in its pool, and:
- httpcore scans every queued request against every connection on each arrival and
  completion, so the work grows with the square of the queue;
- a request's time in that queue counts against its own timeout.

In a probe, 1,000 sessions opened at once on one client left 719 timed out ("the mint
hangs"), with a core busy in the pool's scans. Gated at 64 by the caller, all 1,000 were up
in 6 s. So the library waits here, before an exchange and its timeout begin: at most 64 per
client. httpx's pool holds 100 connections by default, so the pool's queue stays empty.
The caller's own deadlines (the connect timeout, its cancel scopes) still bound the wait.
"""

from __future__ import annotations

import weakref
from typing import Final

import anyio
import httpx

__all__ = ["MAX_IN_FLIGHT", "request_gate"]

MAX_IN_FLIGHT: Final = 64

_gates: weakref.WeakKeyDictionary[httpx.AsyncClient, anyio.Semaphore] = weakref.WeakKeyDictionary()


def request_gate(client: httpx.AsyncClient) -> anyio.Semaphore:
    """The gate of ``client`` (made on first use; it goes with the client)."""
    gate = _gates.get(client)
    if gate is None:
        gate = _gates[client] = anyio.Semaphore(MAX_IN_FLIGHT)
    return gate
