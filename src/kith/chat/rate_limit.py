"""``InboundLimit``: how fast one contact's chat frames are taken (pure).

A token bucket per contact: every chat frame from the contact costs one
token; the bucket holds ``INBOUND_BURST`` tokens and refills at
``INBOUND_RATE`` per second. A frame that finds the bucket empty is dropped
before the conversation sees it: not stored, not receipted, so the sender
keeps it in its outbox and sends it again (``kith.chat.outbox.RESEND_AFTER``).
Nothing acknowledged is lost. The user is told at most once per
``NOTICE_INTERVAL`` while frames are being dropped.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["INBOUND_BURST", "INBOUND_RATE", "NOTICE_INTERVAL", "InboundLimit", "RateDecision"]

INBOUND_RATE: Final = 200.0
"""Chat frames per second a contact may send, sustained."""
INBOUND_BURST: Final = 1000
"""Chat frames a contact may send at once (after a quiet spell)."""
NOTICE_INTERVAL: Final = 60.0
"""Seconds between two notices to the user about the same contact."""


class RateDecision(enum.Enum):
    """What to do with one frame."""

    ACCEPT = "accept"
    """Within the limit: apply it."""
    DROP = "drop"
    """Over the limit: drop it (the sender resends it)."""
    DROP_AND_NOTIFY = "drop_and_notify"
    """Over the limit, and the user has not been told lately: drop it and tell them."""


class InboundLimit:
    """The token bucket of one contact's incoming chat frames.

    Args:
        rate: tokens added per second.
        burst: the most tokens the bucket holds (it starts full).
        notice_interval: the least time between two ``DROP_AND_NOTIFY``.
    """

    def __init__(
        self,
        rate: float = INBOUND_RATE,
        burst: int = INBOUND_BURST,
        notice_interval: float = NOTICE_INTERVAL,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("an inbound limit needs a positive rate and burst")
        self._rate = rate
        self._burst = float(burst)
        self._notice_interval = notice_interval
        self._tokens = float(burst)
        self._updated: float | None = None
        self._notified_at: float | None = None

    def __repr__(self) -> str:
        return f"InboundLimit(tokens={self._tokens:.1f}/{self._burst:.0f})"

    def admit(self, now: float) -> RateDecision:
        """Take one token for a frame arriving at ``now`` (seconds, monotonic or wall)."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return RateDecision.ACCEPT
        if self._notified_at is None or now - self._notified_at >= self._notice_interval:
            self._notified_at = now
            return RateDecision.DROP_AND_NOTIFY
        return RateDecision.DROP

    @property
    def burst(self) -> int:
        """The most tokens the bucket holds."""
        return int(self._burst)

    def next_allowed(self, now: float, tokens: float = 1.0) -> float:
        """When the bucket will hold ``tokens`` again (at most its burst): ``now`` if it
        does already; a dropped sender may be asked to send again then."""
        self._refill(now)
        wanted = min(float(tokens), self._burst)
        return now + max(0.0, wanted - self._tokens) / self._rate

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._updated = now
