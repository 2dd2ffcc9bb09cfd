"""The per-contact inbound token bucket (pure, takes ``now``)."""

from __future__ import annotations

import pytest

from kith.chat import InboundLimit, RateDecision
from kith.chat.rate_limit import INBOUND_BURST, INBOUND_RATE

from .conftest import NOW


def test_a_burst_up_to_the_allowance_is_accepted() -> None:
    limit = InboundLimit()
    decisions = {limit.admit(NOW) for _ in range(INBOUND_BURST)}
    assert decisions == {RateDecision.ACCEPT}


def test_the_frame_past_the_burst_is_dropped_with_a_notice() -> None:
    limit = InboundLimit(rate=1, burst=2)
    limit.admit(NOW)
    limit.admit(NOW)
    assert limit.admit(NOW) is RateDecision.DROP_AND_NOTIFY


def test_the_notice_is_not_repeated_within_its_interval() -> None:
    limit = InboundLimit(rate=1, burst=1, notice_interval=60)
    limit.admit(NOW)
    assert limit.admit(NOW) is RateDecision.DROP_AND_NOTIFY
    assert limit.admit(NOW + 0.5) is RateDecision.DROP
    limit.admit(NOW + 61)  # a refilled token
    assert limit.admit(NOW + 61) is RateDecision.DROP_AND_NOTIFY


def test_tokens_refill_at_the_sustained_rate() -> None:
    limit = InboundLimit(rate=INBOUND_RATE, burst=1)
    limit.admit(NOW)
    assert limit.admit(NOW + 0.5 / INBOUND_RATE) is not RateDecision.ACCEPT
    assert limit.admit(NOW + 1.5 / INBOUND_RATE) is RateDecision.ACCEPT


def test_refill_stops_at_the_burst() -> None:
    limit = InboundLimit(rate=10, burst=3)
    limit.admit(NOW)
    accepted = [limit.admit(NOW + 3600) for _ in range(4)]
    assert accepted.count(RateDecision.ACCEPT) == 3


def test_a_clock_going_back_adds_no_tokens() -> None:
    limit = InboundLimit(rate=10, burst=1)
    limit.admit(NOW)
    assert limit.admit(NOW - 100) is not RateDecision.ACCEPT


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (1, 0)])
def test_a_limit_without_a_rate_or_burst_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate and burst"):
        InboundLimit(rate=rate, burst=burst)


def test_next_allowed_is_when_the_bucket_holds_the_tokens_again() -> None:
    limit = InboundLimit(rate=10, burst=4)
    assert limit.next_allowed(NOW) == NOW  # full: now
    for _ in range(4):
        limit.admit(NOW)
    assert limit.admit(NOW) is not RateDecision.ACCEPT
    assert limit.next_allowed(NOW) == pytest.approx(NOW + 0.1)
    assert limit.next_allowed(NOW, 2) == pytest.approx(NOW + 0.2)
    assert limit.next_allowed(NOW, 100) == pytest.approx(NOW + 0.4)  # at most the burst
    at = limit.next_allowed(NOW, 2)
    assert [limit.admit(at), limit.admit(at)] == [RateDecision.ACCEPT] * 2
    assert limit.admit(at) is not RateDecision.ACCEPT
