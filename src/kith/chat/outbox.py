"""The outbox: what waits for a contact, in order, and when to try again (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from kith.chat.model import OutboxEntry

__all__ = ["RESEND_AFTER", "SEND_WINDOW", "Outbox", "RetryPolicy"]

SEND_WINDOW: Final = 100
"""Most outbox entries sent on a channel and not yet receipted; the next go
out as receipts come back (below the receiver's burst allowance, see
:mod:`kith.chat.rate_limit`)."""
RESEND_AFTER: Final = 5.0
"""Seconds without a delivery receipt after which the entries in flight are
sent again on the open channel (the receiver dropped them, e.g. over its
rate limit; it applies each once)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff between connection attempts.

    Attributes:
        base: seconds before the first retry.
        cap: the longest wait.
    """

    base: float = 2.0
    cap: float = 120.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failed attempts (>= 1)."""
        return float(min(self.cap, self.base * 2 ** max(0, failures - 1)))


DEFAULT_RETRY: Final = RetryPolicy()


class Outbox:
    """Sequenced frames waiting for their delivery receipt, in sequence order.

    Args:
        entries: entries restored from the database.
        policy: backoff after failed connection attempts.
    """

    def __init__(
        self, entries: Iterable[OutboxEntry] = (), policy: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self._entries = {entry.id: entry for entry in sorted(entries, key=lambda e: e.seq)}
        self._policy = policy
        self._failures = 0
        self._retry_at: float | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._entries

    def __iter__(self) -> Iterator[OutboxEntry]:
        """Every waiting entry, lowest sequence number first."""
        return iter(self._entries.values())

    @property
    def retry_at(self) -> float | None:
        """When the next attempt is due after a failure (None: no wait)."""
        return self._retry_at

    def add(self, entry: OutboxEntry) -> None:
        """Append an entry (its ``seq`` is above every earlier one)."""
        self._entries[entry.id] = entry

    def acknowledge(self, entry_id: str) -> bool:
        """Remove an entry the peer stored; True if it was here."""
        return self._entries.pop(entry_id, None) is not None

    def in_order(self) -> list[OutboxEntry]:
        """Every waiting entry, lowest sequence number first."""
        return list(self._entries.values())

    def connected(self) -> None:
        """A channel opened: forget earlier failures."""
        self._failures, self._retry_at = 0, None

    def failed(self, now: float) -> float:
        """A connection attempt failed at ``now``; returns when to retry."""
        self._failures += 1
        self._retry_at = now + self._policy.delay(self._failures)
        return self._retry_at

    def retry_due(self, now: float) -> bool:
        """Whether a connection attempt may start now."""
        return bool(self._entries) and (self._retry_at is None or now >= self._retry_at)
