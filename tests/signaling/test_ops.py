"""How queued requests become frames: batches, chunks, token costs, refusals (pure)."""

from __future__ import annotations

import pytest

from kith.signaling.errors import IntroRefused, PeerOffline, RelayRefused, refusal
from kith.signaling.ops import (
    BATCH_OVERHEAD,
    SUBSCRIBE_CHUNK,
    PublishOp,
    RetractOp,
    SubscribeOp,
    batch_cost,
    batch_item_size,
    batch_size,
    chunked,
    split_batch,
)

T = b"t" * 32


def test_a_batch_stops_at_the_item_limit() -> None:
    items = [(T, b"p")] * 10
    head, rest = split_batch(items, max_items=4, max_frame_bytes=65536)
    assert (len(head), len(rest)) == (4, 6)


def test_a_batch_stops_before_the_frame_limit() -> None:
    payload = b"x" * 677
    frame = BATCH_OVERHEAD + 3 * batch_item_size(payload)
    head, rest = split_batch([(T, payload)] * 5, max_items=256, max_frame_bytes=frame)
    assert (len(head), len(rest)) == (3, 2)


def test_a_default_frame_holds_about_sixty_presence_envelopes() -> None:
    head, _ = split_batch([(T, b"x" * 677)] * 256, max_items=256, max_frame_bytes=65536)
    assert 60 <= len(head) <= 70


def test_a_single_oversized_item_still_goes_alone() -> None:
    head, rest = split_batch([(T, b"x" * 1000), (T, b"y")], max_items=8, max_frame_bytes=100)
    assert (len(head), len(rest)) == (1, 1)


def test_item_size_counts_base64_and_the_topic() -> None:
    assert batch_item_size(b"") < batch_item_size(b"abc") == batch_item_size(b"") + 4


def test_long_topic_lists_go_out_in_chunks_in_order() -> None:
    topics = tuple(bytes([i % 256]) * 32 for i in range(SUBSCRIBE_CHUNK * 2 + 1))
    parts = chunked(SubscribeOp(topics, add=False))
    assert [len(p.topics) for p in parts] == [SUBSCRIBE_CHUNK, SUBSCRIBE_CHUNK, 1]  # type: ignore[union-attr]
    assert all(isinstance(p, SubscribeOp) and not p.add for p in parts)
    assert sum((p.topics for p in parts), ()) == topics  # type: ignore[union-attr]


def test_short_lists_and_publishes_are_not_split() -> None:
    retract = RetractOp((T,) * SUBSCRIBE_CHUNK)
    assert chunked(retract) == [retract]
    assert chunked(PublishOp(T)) == [PublishOp(T)]


def test_a_batch_never_costs_more_than_the_bucket_holds() -> None:
    assert batch_size(max_batch=256, items_per_token=16, bucket_capacity=4.0) == 64
    assert batch_size(max_batch=32, items_per_token=16, bucket_capacity=40.0) == 32


@pytest.mark.parametrize(("items", "cost"), [(1, 1), (16, 1), (17, 2), (64, 4)])
def test_a_batch_costs_one_token_per_started_block(items: int, cost: int) -> None:
    assert batch_cost(items, items_per_token=16) == cost


def test_refusals_have_their_types() -> None:
    assert type(refusal("relay", "peer_offline", "gone")) is PeerOffline
    assert type(refusal("relay", "rate_limited", "slow down")) is RelayRefused
    assert type(refusal("intro", "rate_limited", "slow down")) is IntroRefused
