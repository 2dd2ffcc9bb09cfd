"""The node's garbage collector settings (this process's collector, restored after)."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import Iterator

import pytest

from kith.runtime.gc_settings import YOUNG_THRESHOLD, settle_startup_heap


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_startup_heap_is_frozen_and_young_collections_are_rarer(
    collector: None, caplog: pytest.LogCaptureFixture
) -> None:
    gc.unfreeze()
    _, middle, old = gc.get_threshold()
    with caplog.at_level(logging.INFO):
        settle_startup_heap(logging.getLogger("node"))
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
    assert gc.get_freeze_count() > 0  # nothing was frozen before
    assert "startup objects frozen" in caplog.text


def test_a_cycle_made_after_start_is_still_collected(collector: None) -> None:
    settle_startup_heap(logging.getLogger("node"))

    class Part:
        other: object

    a, b = Part(), Part()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # a cycle: reference counting alone keeps it
    gc.collect()
    assert gone() is None
