"""Reconnect delays: exponential backoff with full jitter.

Pure: :class:`BackoffPolicy` maps an attempt number to a delay and never
sleeps or reads a clock, so it is tested without an event loop. The adapter
counts attempts and resets the count after each successful authentication.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = ["BackoffPolicy", "UniformSource"]

_MAX_EXPONENT: Final = 60


class UniformSource(Protocol):
    """Where jitter comes from (``random.Random`` fits)."""

    def uniform(self, a: float, b: float) -> float:
        """Return a number in ``[a, b]``."""
        ...


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with full jitter.

    The delay before attempt ``n`` (counted from 0 after the last successful
    authentication) is drawn uniformly from ``[0, min(cap, base * 2**n)]``, so
    that clients dropped together by a server restart spread their reconnects
    over the whole window instead of arriving in waves.

    Args:
        base: Upper bound of the first delay, in seconds.
        cap: Largest upper bound, in seconds.
        rng: Source of jitter.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: UniformSource = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError("backoff needs 0 < base <= cap")

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay before ``attempt`` (0-based)."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        return min(self.cap, self.base * 2.0 ** min(attempt, _MAX_EXPONENT))

    def delay(self, attempt: int) -> float:
        """A jittered delay in seconds before ``attempt`` (0-based)."""
        ceiling = self.ceiling(attempt)
        return min(ceiling, max(0.0, self.rng.uniform(0.0, ceiling)))
