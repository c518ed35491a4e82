"""No message lost across a reconnect gap (protocol §8): the chat half of `Signaling`.

The decisions live in the session's sans-IO core (`SessionProtocol`): its `DeliveryLedger`
(`_protocol/_delivery.py`) says, for every message that reaches the session, whether it is
published, held or a duplicate, and a `RecoveryJob` (`_protocol/_recovery_job.py`) plans the
history fetches after a reconnect. This module only moves their requests and answers:

- every live `MessageReceived` and `ReceiptReceived` goes through the ledger in the receive
  loop (live messages are held while the connection's recovery runs, so missed messages
  always come first, in ``seq`` order);
- ``send_message`` tells the ledger about each acked own send;
- a connect hook runs the recovery: it performs the job's requests with `UTDApi`, publishes
  the recovered messages as ``MessageReceived(recovered=True)``, then the held ones, then
  `RecoveryFinished`. It never raises: a failure is reported there, with the conversations
  left incomplete.

A history fetch that fails transiently (network, timeout, 5xx, 429) is tried again on the same
connection, up to `RECOVERY_ATTEMPTS` times 0.25 s / 0.5 s apart, while live events stay held
(the decision is the protocol's `retry_delay`).
A recovery that fails still releases the held live events, so the session keeps flowing; the
next reconnect recovers the same gap again and delivers what is still missing — later than
those live ones in that case (`RecoveryFinished.incomplete` names the conversations), and never
twice. A recovery cut short by another drop keeps the live events held for the next one.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from .._errors import ErrorCode, UTDStreamError
from .._events import MessageReceived, RecoveryFinished
from .._models import ChatMessage
from .._protocol import _vocab as v
from .._protocol._parse import WireFormatError, parse_message
from .._protocol._recovery_job import (
    Answer,
    ListConversations,
    RecoveryJob,
    retry_delay,
)
from .._session._core import SessionCore
from .._transport._client import SignalClient

log = logging.getLogger("utd_trio.chat")


class ChatRecovery:
    """Delivery bookkeeping of a session and recovery of missed messages."""

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._ledger = core.protocol.delivery
        core.add_connect_hook(self._recover)

    def last_delivered_seq(self, conversation_id: str) -> int | None:
        """The highest ``seq`` delivered as `MessageReceived` in a conversation, if any."""
        return self._ledger.last_delivered(conversation_id)

    async def send_own(self, data: dict[str, Any]) -> ChatMessage:
        """``message.send`` with ``data``; the stored message, accounted for as this session's.

        The ledger knows the ``client_id`` while the send waits for its ack, so a recovery
        that finds the message in history first does not deliver it back.
        """
        client_id = data["client_id"]
        self._ledger.sending(client_id)
        try:
            reply = await self._core.request(v.REQ_MESSAGE_SEND, data, idempotent=True)
            message = parse_message(reply)
        except WireFormatError as exc:
            self._ledger.abandoned(client_id)
            raise UTDStreamError(ErrorCode.PROTOCOL, f"message.send answer: {exc}") from None
        except BaseException:
            self._ledger.abandoned(client_id)
            raise
        self._ledger.own(message)
        return message

    async def _recover(self, client: SignalClient, generation: int) -> None:
        """Connect hook: fetch and publish what the gap swallowed, then release held events."""
        if generation <= 1:
            return  # the ledger entered it when the connection was established
        protocol = self._core.protocol
        delivered = 0
        error: str | None = None
        incomplete: frozenset[str] | None = frozenset()
        failed = 0
        while True:
            job = protocol.recovery_job()
            delay: float | None = None
            try:
                await self._run_job(job)
            except UTDStreamError as exc:
                error = f"history could not be fetched: {exc}"
                failed += 1
                delay = retry_delay(exc, failed)
            except Exception as exc:  # never let recovery take the session down
                log.exception("chat recovery failed")
                error = f"recovery failed: {exc!r}"
            else:
                error = job.error
            finally:
                delivered += job.delivered
                incomplete = job.incomplete
            if delay is None:
                break
            await anyio.sleep(delay)  # live messages stay held: order is worth a short delay
        for event in protocol.finish_recovery(generation, complete=error is None):
            self._core.publish(event)
        self._core.publish(
            RecoveryFinished(generation, error is None, delivered, error, incomplete)
        )

    async def _run_job(self, job: RecoveryJob) -> None:
        """Perform the job's requests with `UTDApi`, publishing what it recovers."""
        request = job.start()
        while request is not None:
            answer: Answer
            if isinstance(request, ListConversations):
                answer = await self._core.api.conversations()
            else:
                answer = await self._core.api.history(
                    request.conversation_id,
                    after=request.after,
                    before=request.before,
                    limit=request.limit,
                )
            request = job.send(answer)
            for message in job.drain():
                self._core.publish(MessageReceived(message, recovered=True))
