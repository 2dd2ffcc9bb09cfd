"""The cluster's Redis names and encodings (pure)."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from kith_signal.cluster.keyspace import (
    Kind,
    Message,
    channel,
    conn_prefix,
    decode_login,
    decode_message,
    decode_value,
    encode_message,
    login_value,
    shard_of,
    topic_of_channel,
)


def test_message_round_trips() -> None:
    data = encode_message(Kind.EVENT, "a1b2c3d4e5f60718", b"\x00sealed")
    assert decode_message(data) == Message(Kind.EVENT, "a1b2c3d4e5f60718", b"\x00sealed")


@pytest.mark.parametrize("data", [b"", b"X\x01a", b"E\x05ab", b"E"])
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"valid Kind|truncated|empty"):
        decode_message(data)


def test_value_and_login_round_trip() -> None:
    assert decode_value(conn_prefix("c1") + b"payload") == ("c1", b"payload")
    assert decode_login(login_value("p1", "c1")) == ("p1", "c1")
    with pytest.raises(ValueError, match="trailing"):
        decode_login(login_value("p1", "c1") + b"x")
    with pytest.raises(ValueError, match="1 to 255"):
        conn_prefix("")


def test_topic_channels_and_others() -> None:
    topic = os.urandom(32)
    assert topic_of_channel(channel(topic)) == topic
    assert topic_of_channel(b"kn:process") is None


def test_uniform_topics_spread_over_shards() -> None:
    counts = Counter(shard_of(os.urandom(32), 3) for _ in range(3000))
    assert set(counts) == {0, 1, 2}
    assert min(counts.values()) > 800
    assert shard_of(os.urandom(32), 1) == 0
