"""The offline mailbox: answers ``mailbox_*`` requests from its backend
(:class:`~kith_signal.mailbox.backend.MailboxBackend`: the SQLite file of one
process, or Redis shared by a cluster).

Each request's reply is sent only after its write is durable in the backend.
Expired items are swept at most once per ``sweep_interval``, and never
returned before. A backend that cannot be reached (Redis down) makes the
request fail with ``mailbox_unavailable``; nothing is stored or deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from kith_proto import wire
from kith_proto.server_actions import (
    MailboxAckRequest,
    MailboxDepositRequest,
    MailboxFetchRequest,
    MailboxRequest,
    Send,
)
from kith_proto.wire import ErrorCode
from kith_signal.mailbox.backend import (
    BackendUnavailableError,
    MailboxBackend,
    MailboxFullError,
    StoreFullError,
)
from kith_signal.mailbox.sqlite_store import MAILBOX_FILE
from kith_signal.metrics import Metrics

__all__ = ["MAILBOX_FILE", "Mailbox", "unavailable"]

SWEEP_INTERVAL: Final = 60.0


def unavailable(request: MailboxRequest) -> Send:
    """The reply of a server started without ``--data-dir``."""
    return request.refuse(
        ErrorCode.MAILBOX_UNAVAILABLE,
        "this server keeps no mailbox (started without --data-dir or --redis)",
    )


class Mailbox:
    """The mailbox of one server process.

    Args:
        store: Where the items are kept (it holds the quotas and TTL).
        metrics: Where the item, byte and expiry figures go.
        clock: Wall-clock seconds (item ages survive restarts).
    """

    def __init__(
        self,
        store: MailboxBackend,
        *,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._swept = float("-inf")
        metrics.mailbox_items.set_function(lambda: self._store.held_items)
        metrics.mailbox_bytes.set_function(lambda: self._store.held_bytes)

    async def handle(self, request: MailboxRequest) -> Send:
        """Answer one request (after its write is durable)."""
        try:
            await self._sweep()
            match request:
                case MailboxDepositRequest():
                    return await self._deposit(request)
                case MailboxFetchRequest():
                    return await self._fetch(request)
                case MailboxAckRequest(topic=topic, ids=ids):
                    acked = await self._store.ack(wire.decode_topic(topic), ids)
                    self._metrics.mailbox_acked.inc(acked)
                    return request.ack()
        except BackendUnavailableError as exc:
            return request.refuse(ErrorCode.MAILBOX_UNAVAILABLE, str(exc))
        raise AssertionError(f"unknown mailbox request {request!r}")  # pragma: no cover

    async def _deposit(self, request: MailboxDepositRequest) -> Send:
        topic, payload = wire.decode_topic(request.topic), wire.decode_payload(request.payload)
        try:
            await self._store.deposit(topic, payload, self._clock())
        except MailboxFullError as exc:
            self._metrics.mailbox_refused.labels(ErrorCode.MAILBOX_FULL).inc()
            return request.refuse(ErrorCode.MAILBOX_FULL, str(exc))
        except StoreFullError as exc:
            self._metrics.mailbox_refused.labels(ErrorCode.MAILBOX_STORE_FULL).inc()
            return request.refuse(ErrorCode.MAILBOX_STORE_FULL, str(exc))
        self._metrics.mailbox_deposits.inc()
        return request.ack()

    async def _fetch(self, request: MailboxFetchRequest) -> Send:
        topic = wire.decode_topic(request.topic)
        items, more = await self._store.fetch(
            topic, self._clock(), request.max_reply_bytes * 3 // 4
        )
        self._metrics.mailbox_fetched.inc(len(items))
        sent = [wire.MailboxItem(id=i.id, payload=wire.encode_payload(i.payload)) for i in items]
        return request.reply(sent, more)

    async def _sweep(self) -> None:
        now = self._clock()
        if now - self._swept < SWEEP_INTERVAL:
            return
        self._swept = now
        count, _ = await self._store.expire(now)
        self._metrics.mailbox_expired.inc(count)

    async def aclose(self) -> None:
        """Finish pending work and let go of the backend."""
        await self._store.aclose()
