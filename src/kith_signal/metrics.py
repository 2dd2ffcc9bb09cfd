"""Prometheus metrics of one server process (its own registry, no globals)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Metrics"]

_REQUESTS = (
    "SubscribeRequest",
    "UnsubscribeRequest",
    "PublishRequest",
    "PublishBatchRequest",
    "RetractRequest",
    "RelayRequest",
    "IntroRequest",
)
DELIVERY_KINDS = ("event", "gone", "relayed", "intro_received")
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """Counters, gauges and histograms exposed at ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("kith_signal_connections", "Open connections", registry=r)
        self.authenticated = Gauge(
            "kith_signal_authenticated_connections", "Authenticated connections", registry=r
        )
        self.connections_total = Counter(
            "kith_signal_accepted_connections", "Accepted connections", registry=r
        )
        self.rejected_total = Counter(
            "kith_signal_rejected_connections", "Connections refused", ["reason"], registry=r
        )
        self.auth_failures = Counter(
            "kith_signal_auth_failures", "Failed authentications", ["code"], registry=r
        )
        self.retained_bytes = Gauge(
            "kith_signal_retained_bytes", "Bytes of retained payloads held", registry=r
        )
        self.publishes = Counter("kith_signal_publishes", "Presence publishes", registry=r)
        self.deliveries = _Tally(
            "kith_signal_deliveries", "Frames delivered to subscribers", "kind", DELIVERY_KINDS
        )
        r.register(self.deliveries)
        self.pending_bytes = Gauge(
            "kith_signal_pending_bytes",
            "Bytes of frames queued for connections that are behind",
            registry=r,
        )
        self.collapsed = Counter(
            "kith_signal_collapsed_events",
            "Presence frames replaced, unsent, by a newer value of their topic",
            registry=r,
        )
        self.relays = Counter("kith_signal_relays", "Relay requests", ["result"], registry=r)
        self.intros = Counter("kith_signal_intros", "Introduction requests", registry=r)
        self.errors = Counter("kith_signal_errors", "Error frames sent", ["code"], registry=r)
        self.closes = Counter("kith_signal_closes", "Closes by the server", ["code"], registry=r)
        self.mailbox_items = Gauge("kith_signal_mailbox_items", "Mailbox items held", registry=r)
        self.mailbox_bytes = Gauge(
            "kith_signal_mailbox_bytes", "Bytes of sealed mailbox items held", registry=r
        )
        self.mailbox_deposits = Counter(
            "kith_signal_mailbox_deposits", "Mailbox items deposited", registry=r
        )
        self.mailbox_fetched = Counter(
            "kith_signal_mailbox_fetched", "Mailbox items sent to their owner", registry=r
        )
        self.mailbox_acked = Counter(
            "kith_signal_mailbox_acked", "Mailbox items deleted on acknowledgement", registry=r
        )
        self.mailbox_expired = Counter(
            "kith_signal_mailbox_expired", "Mailbox items deleted unread after the TTL", registry=r
        )
        self.mailbox_refused = Counter(
            "kith_signal_mailbox_refused", "Deposits refused by a quota", ["code"], registry=r
        )
        self.redis_up = Gauge(
            "kith_signal_redis_up",
            "Whether a Redis shard is reachable (1) or not",
            ["shard"],
            registry=r,
        )
        self.redis_errors = Counter(
            "kith_signal_redis_errors",
            "Redis failures (each marks its shard down)",
            ["shard"],
            registry=r,
        )
        self.redis_seconds = Histogram(
            "kith_signal_redis_seconds",
            "Round trip of one Redis pipeline (one per shard per broker operation)",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0),
            registry=r,
        )
        self.redis_commands = Counter(
            "kith_signal_redis_commands",
            "Redis commands sent, by broker operation; commands per status change is"
            " redis_commands{op=publish} / publishes",
            ["op"],
            registry=r,
        )
        self.redis_commands_per_change = Histogram(
            "kith_signal_redis_commands_per_change",
            "Redis commands one publish or publish_batch (a status change) sent",
            buckets=(1, 2, 5, 10, 25, 50, 100, 200, 500, 1000),
            registry=r,
        )
        self.frame_seconds = Histogram(
            "kith_signal_frame_seconds",
            "Time to handle one inbound frame, by the core's first action",
            ["action"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.auth_seconds = Histogram(
            "kith_signal_auth_seconds",
            "Connect to welcome",
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0),
            registry=r,
        )

        # Label children looked up once: ``labels()`` costs a lock and a dict
        # lookup, too much on the hot path.
        self.frame_timers = {
            action: self.frame_seconds.labels(action)
            for action in ("Send", "Close", "Login", "none", *_REQUESTS)
        }

    def count_delivery(self, kind: str) -> None:
        """One frame of ``kind`` (one of :data:`DELIVERY_KINDS`) delivered."""
        self.deliveries.counts[kind] += 1

    def frame_timer(self, action: str) -> Histogram:
        """The ``frame_seconds`` child of ``action`` (cached)."""
        timer = self.frame_timers.get(action)
        if timer is None:
            timer = self.frame_timers[action] = self.frame_seconds.labels(action)
        return timer

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class _Tally(Collector):
    """A labelled counter kept as plain integers, read when scraped.

    For the per-delivery path: one dictionary increment, where a
    ``prometheus_client`` counter takes a lock on every ``inc``.
    The server is single-threaded, so the integers need none.
    """

    def __init__(self, name: str, documentation: str, label: str, values: tuple[str, ...]) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self.counts = dict.fromkeys(values, 0)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, count in self.counts.items():
            family.add_metric([value], count)
        yield family
