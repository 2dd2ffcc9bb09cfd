"""The order in which the node dials its signaling servers, without an event loop."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from kith.signaling.dial_order import DialOrder

URLS = ("ws://a:1", "ws://b:1", "ws://c:1")


def test_one_url_is_always_that_url() -> None:
    order = DialOrder(["ws://only:1"])
    assert [order.current, order.advance(), order.advance()] == ["ws://only:1"] * 3


def test_each_round_tries_every_url_once() -> None:
    order = DialOrder(URLS, random.Random(3))
    dialled = [order.current] + [order.advance() for _ in range(11)]
    for start in range(0, 12, 3):
        assert sorted(dialled[start : start + 3]) == sorted(URLS)


def test_the_url_just_left_is_never_dialled_again_at_once() -> None:
    for seed in range(50):
        order = DialOrder(URLS[:2], random.Random(seed))
        dialled = [order.current] + [order.advance() for _ in range(20)]
        assert all(a != b for a, b in itertools.pairwise(dialled))


def test_nodes_start_spread_over_the_servers() -> None:
    firsts = Counter(DialOrder(URLS, random.Random(seed)).current for seed in range(300))
    assert set(firsts) == set(URLS)
    assert min(firsts.values()) > 60


def test_repeats_are_dropped() -> None:
    order = DialOrder(["ws://a:1", "ws://a:1", "ws://b:1"], random.Random(1))
    assert sorted(order.urls) == ["ws://a:1", "ws://b:1"]


def test_no_url_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        DialOrder([])
