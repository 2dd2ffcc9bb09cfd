"""Bundles: several session messages in one encrypted frame (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.p2p.bundle import (
    BUNDLE_ENTRY_LIMIT,
    BUNDLE_LIMIT,
    pack_bundle,
    plan_bundles,
    unpack_bundle,
)
from kith.p2p.errors import MalformedFrame

messages = st.lists(st.binary(min_size=1, max_size=6000), max_size=40)


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=2, max_size=30))
def test_a_bundle_round_trips(entries: list[bytes]) -> None:
    assert unpack_bundle(pack_bundle(entries)) == entries


@given(messages)
def test_the_plan_keeps_every_message_in_order_within_the_limits(batch: list[bytes]) -> None:
    runs = plan_bundles(batch)
    assert [m for run in runs for m in run] == batch
    for run in runs:
        if len(run) > 1:
            assert all(len(m) <= BUNDLE_ENTRY_LIMIT for m in run)
            assert len(pack_bundle(run)) <= BUNDLE_LIMIT


def test_small_messages_share_a_bundle_and_a_large_one_goes_alone() -> None:
    big = b"b" * (BUNDLE_ENTRY_LIMIT + 1)
    assert plan_bundles([b"a", b"b", big, b"c"]) == [[b"a", b"b"], [big], [b"c"]]
    assert plan_bundles([]) == []


def test_a_run_past_the_bundle_limit_starts_another() -> None:
    entry = b"e" * BUNDLE_ENTRY_LIMIT
    runs = plan_bundles([entry] * 40)
    assert len(runs) == 3
    assert all(len(pack_bundle(run)) <= BUNDLE_LIMIT for run in runs if len(run) > 1)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "at least two"),
        (pack_bundle([b"a", b"bc"])[:-1], "longer than the bundle"),  # second entry cut
        (b"\x00\x00\x00\x01a\x00\x00", "ends inside an entry's length"),
        (b"\x00\x00\x00\x01a\x00\x00\x00\x00", "never empty"),
        (b"\x00\x00\x00\x01a\x00\x00\x00\x05ab", "longer than the bundle"),
        (b"\x00\x00\x00\x01a", "at least two"),
    ],
)
def test_a_malformed_bundle_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(MalformedFrame, match=why):
        unpack_bundle(data)


def test_a_bundle_needs_two_messages_none_empty() -> None:
    assert unpack_bundle(pack_bundle([b"a", b"b"])) == [b"a", b"b"]
    with pytest.raises(ValueError, match="at least two"):
        pack_bundle([b"only"])
    with pytest.raises(ValueError, match="never empty"):
        pack_bundle([b"a", b""])
