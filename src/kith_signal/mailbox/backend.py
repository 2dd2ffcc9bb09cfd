"""What the offline mailbox keeps its items in: the :class:`MailboxBackend`
protocol, and the limits, refusals and item shape every backend shares.

Two backends implement it: the SQLite file of one process
(:class:`~kith_signal.mailbox.sqlite_store.MailboxFile`) and Redis, shared by the
processes of a cluster (:class:`~kith_signal.mailbox.redis_store.RedisMailboxStore`).
Both hold topics (hashes of owners' tokens), sealed items and the time each
was stored: no identity, key or address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BackendUnavailableError",
    "MailboxBackend",
    "MailboxFullError",
    "MailboxLimits",
    "StoreFullError",
    "StoredItem",
]


class MailboxFullError(Exception):
    """The topic holds its quota of items or bytes."""


class StoreFullError(Exception):
    """The whole mailbox holds its quota of bytes."""


class BackendUnavailableError(Exception):
    """The backend cannot be reached right now (Redis down); nothing changed
    that the caller was told about."""


@dataclass(frozen=True)
class MailboxLimits:
    """Quotas and time to live of the mailbox (defaults as documented)."""

    ttl: float = 14 * 86400.0
    topic_items: int = 10_000
    topic_bytes: int = 64 * 1024 * 1024
    total_bytes: int = 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.ttl, self.topic_items, self.topic_bytes, self.total_bytes) <= 0:
            raise ValueError("mailbox limits must be positive")

    def topic_full_message(self) -> str:
        """The text of a :class:`MailboxFullError` (the same from every backend)."""
        return (
            f"this mailbox holds its quota ({self.topic_items} items, "
            f"{self.topic_bytes} bytes) until its owner fetches"
        )


STORE_FULL_MESSAGE = "the mailbox server is full; try again later"
"""The text of a :class:`StoreFullError` (the same from every backend)."""


@dataclass(frozen=True)
class StoredItem:
    """One item as stored: its id and sealed bytes."""

    id: int
    payload: bytes


class MailboxBackend(Protocol):
    """Where sealed items wait: deposited, fetched oldest first, deleted on
    acknowledgement or after the TTL. Each write is durable (as far as the
    backend's own settings make it) before its coroutine returns.

    ``held_items`` and ``held_bytes`` are the totals held by the whole mailbox as last
    seen (for the metrics gauges; a shared backend refreshes them on each call).
    """

    @property
    def held_items(self) -> int: ...

    @property
    def held_bytes(self) -> int: ...

    async def deposit(self, topic: bytes, payload: bytes, now: float) -> int:
        """Store an item; return its id. The same item twice is stored once.

        Raises:
            MailboxFullError: The topic's quota is reached.
            StoreFullError: The whole mailbox's quota is reached.
            BackendUnavailableError: The backend cannot be reached.
        """
        ...

    async def fetch(
        self, topic: bytes, now: float, max_bytes: int
    ) -> tuple[list[StoredItem], bool]:
        """The oldest live items of ``topic`` within ``max_bytes`` (at least
        one), and whether more wait."""
        ...

    async def ack(self, topic: bytes, ids: Sequence[int]) -> int:
        """Delete the items ``ids`` of ``topic``; return how many were held."""
        ...

    async def expire(self, now: float) -> tuple[int, int]:
        """Delete items older than the TTL; return (items, bytes) removed."""
        ...

    async def aclose(self) -> None:
        """Finish pending work and let go of the file or connection."""
        ...
