"""The offline mailbox: answers ``mailbox_*`` requests from its SQLite file.

Blocking SQLite work runs on one worker thread (the executor boundary);
each request's reply is sent only after its write committed. Expired items
are swept at most once per ``sweep_interval``, and never returned before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar

from kith_proto import wire
from kith_proto.server_actions import (
    MailboxAckRequest,
    MailboxDepositRequest,
    MailboxFetchRequest,
    MailboxRequest,
    Send,
)
from kith_proto.wire import ErrorCode
from kith_signal.mailbox_store import (
    MailboxFullError,
    MailboxLimits,
    MailboxStore,
    StoreFullError,
)
from kith_signal.metrics import Metrics

__all__ = ["MAILBOX_FILE", "Mailbox", "unavailable"]

MAILBOX_FILE: Final = "mailbox.sqlite3"
SWEEP_INTERVAL: Final = 60.0
_T = TypeVar("_T")


def unavailable(request: MailboxRequest) -> Send:
    """The reply of a server started without ``--data-dir``."""
    return request.refuse(
        ErrorCode.MAILBOX_UNAVAILABLE, "this server keeps no mailbox (started without --data-dir)"
    )


class Mailbox:
    """The mailbox of one server process.

    Args:
        data_dir: The directory holding :data:`MAILBOX_FILE`.
        limits: Quotas and TTL.
        metrics: Where the item, byte and expiry figures go.
        clock: Wall-clock seconds (item ages survive restarts).
    """

    def __init__(
        self,
        data_dir: Path,
        limits: MailboxLimits,
        *,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailbox")
        self._store = MailboxStore(data_dir / MAILBOX_FILE, limits)
        self._metrics = metrics
        self._clock = clock
        self._swept = float("-inf")
        metrics.mailbox_items.set_function(lambda: self._store.items)
        metrics.mailbox_bytes.set_function(lambda: self._store.bytes)

    async def handle(self, request: MailboxRequest) -> Send:
        """Answer one request (after its write is durable)."""
        await self._sweep()
        match request:
            case MailboxDepositRequest():
                return await self._deposit(request)
            case MailboxFetchRequest():
                return await self._fetch(request)
            case MailboxAckRequest(topic=topic, ids=ids):
                acked = await self._run(self._store.ack, wire.decode_topic(topic), ids)
                self._metrics.mailbox_acked.inc(acked)
                return request.ack()
        raise AssertionError(f"unknown mailbox request {request!r}")  # pragma: no cover

    async def _deposit(self, request: MailboxDepositRequest) -> Send:
        topic, payload = wire.decode_topic(request.topic), wire.decode_payload(request.payload)
        try:
            await self._run(self._store.deposit, topic, payload, self._clock())
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
        items, more = await self._run(
            self._store.fetch, topic, self._clock(), request.max_reply_bytes * 3 // 4
        )
        self._metrics.mailbox_fetched.inc(len(items))
        sent = [wire.MailboxItem(id=i.id, payload=wire.encode_payload(i.payload)) for i in items]
        return request.reply(sent, more)

    async def _sweep(self) -> None:
        now = self._clock()
        if now - self._swept < SWEEP_INTERVAL:
            return
        self._swept = now
        count, _ = await self._run(self._store.expire, now)
        self._metrics.mailbox_expired.inc(count)

    async def _run(self, work: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)

    def close(self) -> None:
        """Finish pending work and close the file."""
        self._executor.shutdown(wait=True)
        self._store.close()
