"""One-time download tickets: a browser download without the session secret (pure).

The page authenticates its API calls with the ``X-Kith-Session`` header
(:mod:`kith.api.access`), which a plain link cannot carry. So the page asks
for a ticket for one file (``POST /api/files/{fid}/download``, with its
session) and navigates to ``/api/downloads/<ticket>``: the browser then
streams the file to disk itself instead of holding it in the page. A ticket
names one file, works once, and lapses after :data:`TICKET_TTL` seconds; it
is 256 random bits and only its SHA-256 is kept (as for sessions), so it is
worth nothing once used and the session secret never appears in a URL.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = ["DOWNLOAD_PREFIX", "TICKET_TTL", "DownloadTickets"]

DOWNLOAD_PREFIX: Final = "/api/downloads/"
"""Where a ticket is redeemed: the path is the prefix and the ticket."""
TICKET_TTL: Final = 60.0
"""Seconds a ticket stays valid if unused."""
_MAX_TICKETS: Final = 1_000
"""Unused tickets kept at most (the oldest go first)."""


@dataclass
class DownloadTickets:
    """The live download tickets of one node run.

    Args:
        clock: Monotonic seconds.
        ttl: Seconds a ticket stays valid.
    """

    clock: Callable[[], float]
    ttl: float = TICKET_TTL
    _live: dict[bytes, tuple[str, float]] = field(default_factory=dict, repr=False)
    """SHA-256 of the ticket → (file ID, expiry)."""

    def issue(self, file_id: str) -> str:
        """A new ticket for ``file_id``."""
        self._expire()
        while len(self._live) >= _MAX_TICKETS:
            del self._live[next(iter(self._live))]
        ticket = secrets.token_urlsafe(32)
        self._live[_hash(ticket)] = (file_id, self.clock() + self.ttl)
        return ticket

    def redeem(self, ticket: str) -> str | None:
        """The file a ticket names, once; None for an unknown, used or expired ticket."""
        self._expire()
        found = self._live.pop(_hash(ticket), None)
        return None if found is None else found[0]

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, (_, until) in self._live.items() if until <= now]:
            del self._live[key]


def _hash(ticket: str) -> bytes:
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).digest()
