"""Giving freed heap back after a burst: the schedule (pure) and glibc's calls."""

from __future__ import annotations

import logging
import sys

import pytest

from kith_signal.heap_trim import GlibcHeap, HeapTrim, TrimSchedule, TrimSettings

MIB = 1024 * 1024
SETTINGS = TrimSettings(min_freed=32 * MIB, min_interval=10.0, settled_fraction=0.05)


def test_a_burst_gone_and_settled_is_trimmed() -> None:
    schedule = TrimSchedule(SETTINGS)
    assert not schedule.due(0.0, 100 * MIB)  # the first check only sees the heap
    assert not schedule.due(1.0, 200 * MIB)  # a burst
    assert not schedule.due(2.0, 101 * MIB)  # over, but still moving
    assert schedule.due(3.0, 100 * MIB)  # settled: 100 MiB freed since the peak


def test_a_heap_that_only_grows_or_holds_is_never_trimmed() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 150, 150, 200, 200, 200]):
        assert not schedule.due(float(second), mib * MIB)


def test_a_small_dip_is_not_worth_a_trim() -> None:
    schedule = TrimSchedule(SETTINGS)
    schedule.due(0.0, 100 * MIB)
    schedule.due(1.0, 130 * MIB)
    schedule.due(2.0, 100 * MIB)
    assert not schedule.due(3.0, 100 * MIB)  # 30 MiB < 32 MiB freed


def test_after_a_trim_only_a_new_burst_trims_again_and_not_too_soon() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 200, 100]):
        schedule.due(float(second), mib * MIB)
    assert schedule.due(3.0, 100 * MIB)
    schedule.trimmed(3.0)
    assert not schedule.due(20.0, 100 * MIB)  # the same freed bytes: no second trim
    schedule.due(21.0, 200 * MIB)
    schedule.due(22.0, 100 * MIB)
    assert schedule.due(23.0, 100 * MIB)


def test_trims_are_at_least_min_interval_apart() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 200, 100]):
        schedule.due(float(second), mib * MIB)
    assert schedule.due(3.0, 100 * MIB)
    schedule.trimmed(3.0)
    schedule.due(4.0, 200 * MIB)
    schedule.due(5.0, 100 * MIB)
    assert not schedule.due(6.0, 100 * MIB)  # 3 s after the last trim
    assert schedule.due(13.0, 100 * MIB)


@pytest.mark.parametrize(
    "settings",
    [
        {"min_freed": -1},
        {"min_interval": -1.0},
        {"settled_fraction": 0.0},
        {"settled_fraction": 1.0},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="heap trim"):
        TrimSettings(**settings)  # type: ignore[arg-type]


@pytest.mark.skipif(GlibcHeap.load() is None, reason="not glibc 2.33 or later")
def test_glibc_reports_a_burst_and_the_trim_after_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heap = GlibcHeap.load()
    assert heap is not None
    trim = HeapTrim(heap, TrimSettings(min_freed=32 * MIB), logging.getLogger("test.heap_trim"))
    before, _ = heap.usage()
    trim.check(0.0)
    blocks = [bytearray(4096) for _ in range(20_000)]  # 80 MiB from malloc
    during, _ = heap.usage()
    assert during - before >= 60 * MIB
    trim.check(1.0)
    del blocks[::2]  # holes inside the heap: glibc keeps them
    _, free = heap.usage()
    assert free >= 32 * MIB
    with caplog.at_level(logging.INFO, logger="test.heap_trim"):
        trim.check(2.0)  # still moving
        trim.check(3.0)  # settled: trims
        trim.check(4.0)  # nothing new
    assert [r.getMessage() for r in caplog.records] == ["heap_trim"]
    assert len(blocks) == 10_000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check reads glibc")
def test_load_names_glibc_only_when_its_functions_are_there() -> None:
    import ctypes

    libc = ctypes.CDLL(None)
    expected = all(hasattr(libc, f) for f in ("gnu_get_libc_version", "mallinfo2", "malloc_trim"))
    assert (GlibcHeap.load() is not None) == expected
