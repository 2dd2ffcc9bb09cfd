"""What a server enforces (:class:`ServerConfig`, announced in ``welcome``)
and token buckets, the one rate-limiting primitive of the protocol cores."""

from __future__ import annotations

from dataclasses import dataclass

from kith_proto import wire

__all__ = ["ServerConfig", "TokenBucket", "refill", "retained_size"]

TOPIC_CHARS = 43
"""Characters of a topic on the wire (32 bytes, unpadded base64url)."""


def retained_size(payload_bytes: int) -> int:
    """Bytes a retained value takes in a ``subscribed`` reply: the topic's and
    the payload's base64url text (``payload_bytes`` decoded)."""
    return TOPIC_CHARS + (4 * payload_bytes + 2) // 3


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


@dataclass(frozen=True)
class ServerConfig:
    """What a server enforces. Defaults are the documented ones."""

    public_url: str
    max_frame_bytes: int = 65536
    max_payload_bytes: int = 32768
    max_topics: int = 4096
    rate: float = 20.0
    burst: int = 40
    max_batch: int = 256
    batch_items_per_token: int = 16
    reply_bytes_per_token: int = 262144
    intro_rate: float = 0.2
    intro_burst: int = 5
    challenge_ttl: float = 10.0
    auth_timeout: float = 15.0
    heartbeat_interval: float = 10.0
    max_strikes: int = 10
    strike_refill: float = 0.2

    def __post_init__(self) -> None:
        if self.max_payload_bytes >= self.max_frame_bytes:
            derived = max(0, self.max_frame_bytes * 3 // 4 - 256)
            object.__setattr__(self, "max_payload_bytes", derived)
        limits = (self.max_frame_bytes, self.max_topics, self.burst, self.max_strikes)
        per_token = (self.batch_items_per_token, self.reply_bytes_per_token)
        if min(*limits, *per_token) < 1 or self.max_batch < 0:
            raise ValueError("limits must be positive")

    @property
    def limits(self) -> wire.Limits:
        """The limits as announced in ``welcome``."""
        return wire.Limits(
            max_frame_bytes=self.max_frame_bytes,
            max_payload_bytes=self.max_payload_bytes,
            max_topics=self.max_topics,
            rate=self.rate,
            burst=self.burst,
            max_batch=self.max_batch,
            batch_items_per_token=self.batch_items_per_token,
            reply_bytes_per_token=self.reply_bytes_per_token,
        )

    def batch_cost(self, items: int) -> int:
        """Message tokens a ``publish_batch`` of ``items`` items costs (at least 1)."""
        return max(1, -(-items // self.batch_items_per_token))

    def reply_cost(self, reply_bytes: int) -> int:
        """Message tokens a ``subscribe`` costs whose reply carries
        ``reply_bytes`` of retained topics and payloads (at least 1)."""
        return max(1, -(-reply_bytes // self.reply_bytes_per_token))

    def reply_budget(self, tokens: float) -> int:
        """Most retained bytes a ``subscribe`` may draw when the frame paid
        its one token and ``tokens`` more are left in the bucket."""
        return (1 + int(max(0.0, tokens))) * self.reply_bytes_per_token
