"""Splitting queued publishes into ``publish_batch`` frames (pure)."""

from __future__ import annotations

from kith.signaling.ops import BATCH_OVERHEAD, batch_item_size, split_batch

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
