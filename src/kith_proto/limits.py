"""Token buckets: the one rate-limiting primitive of the protocol cores."""

from __future__ import annotations

__all__ = ["TokenBucket", "refill"]


def refill(tokens: float, elapsed: float, rate: float, capacity: float) -> float:
    """Tokens in a bucket after ``elapsed`` seconds at ``rate``, capped.

    The plain-number form of :class:`TokenBucket`, for objects that keep many
    buckets' state in their own slots (one server connection holds three).
    """
    return min(capacity, tokens + max(0.0, elapsed) * rate)


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled at ``rate`` tokens per second.

    Pure: the caller passes ``now`` (any monotonic clock, in seconds).
    """

    __slots__ = ("_stamp", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        if rate < 0 or capacity < 1:
            raise ValueError("a token bucket needs rate >= 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._tokens = float(capacity)
        self._stamp = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend ``cost`` tokens if available; return whether they were."""
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True
