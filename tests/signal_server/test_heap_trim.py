"""Giving freed heap back after a burst: the schedule (pure) and glibc's calls."""

from __future__ import annotations

import logging
import sys

import pytest

from kith_signal.heap_trim import GlibcHeap, HeapTrim, TrimSchedule, TrimSettings

MIB = 1024 * 1024
SETTINGS = TrimSettings(min_growth=32 * MIB, min_interval=10.0, settled_fraction=0.05)


def test_a_burst_that_settled_is_trimmed() -> None:
    schedule = TrimSchedule(SETTINGS)
    assert not schedule.due(0.0, 100 * MIB)  # the first check only sees the process
    assert not schedule.due(1.0, 300 * MIB)  # a burst
    assert not schedule.due(2.0, 500 * MIB)  # still growing
    assert schedule.due(3.0, 505 * MIB)  # settled, 405 MiB above the start


def test_a_process_that_holds_steady_is_never_trimmed() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 110, 120, 125, 130, 131, 131]):
        assert not schedule.due(float(second), mib * MIB)  # under 32 MiB of growth


def test_after_a_trim_only_new_growth_trims_again() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 500, 500]):
        schedule.due(float(second), mib * MIB)
    schedule.trimmed(2.0, 300 * MIB)  # gave 200 MiB back
    assert not schedule.due(20.0, 300 * MIB)
    assert not schedule.due(21.0, 320 * MIB)  # 20 MiB: not enough
    assert not schedule.due(22.0, 400 * MIB)  # growing
    assert schedule.due(23.0, 401 * MIB)


def test_a_trim_that_gave_nothing_back_waits_for_new_growth() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 200, 200]):
        schedule.due(float(second), mib * MIB)
    schedule.trimmed(2.0, 200 * MIB)  # the growth was memory in use
    assert not any(schedule.due(float(s), 200 * MIB) for s in range(3, 40))


def test_trims_are_at_least_min_interval_apart() -> None:
    schedule = TrimSchedule(SETTINGS)
    for second, mib in enumerate([100, 200, 200]):
        schedule.due(float(second), mib * MIB)
    schedule.trimmed(2.0, 100 * MIB)
    schedule.due(3.0, 200 * MIB)
    assert not schedule.due(4.0, 200 * MIB)  # 2 s after the last trim
    assert schedule.due(12.0, 200 * MIB)


@pytest.mark.parametrize(
    "settings",
    [
        {"min_growth": -1},
        {"min_interval": -1.0},
        {"settled_fraction": 0.0},
        {"settled_fraction": 1.0},
    ],
)
def test_bad_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="heap trim"):
        TrimSettings(**settings)  # type: ignore[arg-type]


@pytest.mark.skipif(GlibcHeap.load() is None, reason="not glibc")
def test_glibc_gives_back_the_holes_a_burst_left_and_the_trim_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heap = GlibcHeap.load()
    assert heap is not None
    trim = HeapTrim(heap, TrimSettings(min_growth=32 * MIB), logging.getLogger("test.heap_trim"))
    heap.trim()  # holes earlier tests left would take part of the burst without new pages
    trim.check(0.0)
    start = heap.resident()
    blocks = [bytearray(64 * 1024) for _ in range(1200)]  # 75 MiB from the heap, not mmap
    del blocks[::2]  # holes inside the heap: glibc keeps them resident
    held = heap.resident()
    assert held - start >= 60 * MIB
    with caplog.at_level(logging.INFO, logger="test.heap_trim"):
        trim.check(1.0)  # grown since the last check: the burst may go on
        assert caplog.records == []
        trim.check(2.0)  # settled: trims
        trim.check(3.0)  # nothing new
    assert [r.getMessage() for r in caplog.records] == ["heap_trim"]
    assert held - heap.resident() >= 16 * MIB  # most of the 37 MiB of holes went back
    assert len(blocks) == 600


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check reads glibc")
def test_load_names_glibc_only_when_its_functions_are_there() -> None:
    import ctypes

    libc = ctypes.CDLL(None)
    expected = all(hasattr(libc, f) for f in ("gnu_get_libc_version", "malloc_trim"))
    assert (GlibcHeap.load() is not None) == expected
