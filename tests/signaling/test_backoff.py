"""The reconnect policy, without an event loop."""

from __future__ import annotations

import random

import pytest

from kith.signaling import BackoffPolicy


class Extreme:
    """Jitter source that always returns one end of the range."""

    def __init__(self, top: bool) -> None:
        self.top = top

    def uniform(self, a: float, b: float) -> float:
        return b if self.top else a


def test_ceiling_doubles_from_base_until_cap() -> None:
    policy = BackoffPolicy(base=0.5, cap=5.0)
    assert [policy.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_delay_is_full_jitter_between_zero_and_ceiling() -> None:
    policy = BackoffPolicy(base=1.0, cap=8.0, rng=random.Random(7))
    delays = [policy.delay(3) for _ in range(2000)]
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert min(delays) < 0.5
    assert max(delays) > 7.5


def test_delay_reaches_both_ends_of_the_window() -> None:
    assert BackoffPolicy(base=1.0, cap=8.0, rng=Extreme(top=True)).delay(2) == 4.0
    assert BackoffPolicy(base=1.0, cap=8.0, rng=Extreme(top=False)).delay(2) == 0.0


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    policy = BackoffPolicy(base=0.1, cap=30.0, rng=Extreme(top=True))
    assert policy.delay(10_000) == 30.0


def test_seeded_policies_repeat_their_delays() -> None:
    first = BackoffPolicy(rng=random.Random(1))
    second = BackoffPolicy(rng=random.Random(1))
    assert [first.delay(n) for n in range(10)] == [second.delay(n) for n in range(10)]


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_invalid_bounds_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="base"):
        BackoffPolicy(base=base, cap=cap)


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        BackoffPolicy().delay(-1)
