"""Giving the C heap's free pages back to the system after a burst (glibc).

A burst (everyone's initial presence at once, a reconnect storm) has the
server hold many frames for a moment; once they are written, glibc keeps
the freed memory for reuse and the process's RSS stays at the burst's peak
(about 30 KiB per user at 10k users with 50 contacts after the initial
presence, measured by ``bench/bench_signal.py``). ``malloc_trim(0)`` returns the free pages inside
the heap too, at the cost of one pause that grows with the heap (logged as
``event=heap_trim ms=...``).

:class:`TrimSchedule` decides when (pure), from the process's resident set
size (``/proc/self/statm``, a cheap read; glibc's own ``mallinfo2`` walks
every free chunk and took 60 ms on a fragmented heap, too slow to call every
second): once RSS grew by at least ``min_growth`` since the last trim (or
since start) and then settled (moved by less than ``settled_fraction`` since
the previous check, so the burst is over), at most once every
``min_interval`` seconds. A trim that returns nothing (the growth was memory
in use) costs one pause and moves the reference up, so the next one waits
for another ``min_growth``. :class:`GlibcHeap` is the binding;
:meth:`GlibcHeap.load` returns None on any other C library (musl, macOS,
Windows), where trimming is off. The managed garbage-collector policy
(:mod:`kith_signal.gc_policy`) runs the check on its timer.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Final

from kith_signal.logfmt import log_event

__all__ = ["GlibcHeap", "HeapTrim", "TrimSchedule", "TrimSettings"]

_MIB: Final = 1024 * 1024


@dataclass(frozen=True)
class TrimSettings:
    """Knobs of :class:`TrimSchedule`."""

    min_growth: int = 32 * _MIB
    min_interval: float = 10.0
    settled_fraction: float = 0.05

    def __post_init__(self) -> None:
        if self.min_growth < 0 or self.min_interval < 0 or not 0 < self.settled_fraction < 1:
            raise ValueError("heap trim thresholds must be >= 0 and the fraction in (0, 1)")


class TrimSchedule:
    """Decides when to trim, from the process's resident bytes (pure)."""

    __slots__ = ("_base", "_last", "_settings", "_trimmed_at")

    def __init__(self, settings: TrimSettings) -> None:
        self._settings = settings
        self._trimmed_at: float | None = None
        self._last: int | None = None
        self._base: int | None = None

    def due(self, now: float, resident: int) -> bool:
        """Whether to trim now; every call is one check (``resident`` is
        compared with the previous check's and with the last trim's)."""
        s = self._settings
        previous, self._last = self._last, resident
        if self._base is None:
            self._base = resident
        if previous is None or abs(resident - previous) > s.settled_fraction * max(previous, 1):
            return False
        if resident - self._base < s.min_growth:
            return False
        return self._trimmed_at is None or now - self._trimmed_at >= s.min_interval

    def trimmed(self, now: float, resident: int) -> None:
        """A trim finished at ``now``, leaving ``resident`` bytes: the next
        burst is measured from there."""
        self._trimmed_at = now
        self._base = self._last = resident


class GlibcHeap:
    """glibc's ``malloc_trim`` and the resident size (use :meth:`load`)."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._trim = libc.malloc_trim
        self._trim.argtypes = [ctypes.c_size_t]
        self._trim.restype = ctypes.c_int
        self._page = os.sysconf("SC_PAGE_SIZE")

    @classmethod
    def load(cls) -> GlibcHeap | None:
        """The binding, or None when the C library is not glibc."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(None)
        except OSError:
            return None
        if not all(hasattr(libc, f) for f in ("gnu_get_libc_version", "malloc_trim")):
            return None
        return cls(libc)

    def resident(self) -> int:
        """The process's resident set size in bytes."""
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * self._page

    def trim(self) -> bool:
        """Return free heap pages to the system; True when some were."""
        return bool(self._trim(0))


class HeapTrim:
    """Runs a :class:`TrimSchedule` against glibc's heap.

    Args:
        heap: The binding (:meth:`GlibcHeap.load`).
        settings: The schedule's knobs.
        log: Where ``event=heap_trim`` lines go.
    """

    def __init__(self, heap: GlibcHeap, settings: TrimSettings, log: logging.Logger) -> None:
        self._heap = heap
        self._schedule = TrimSchedule(settings)
        self._log = log

    def check(self, now: float) -> None:
        """Trim if the schedule says so, and log the pause and what it freed."""
        before = self._heap.resident()
        if not self._schedule.due(now, before):
            return
        started = time.perf_counter()
        released = self._heap.trim()
        ms = (time.perf_counter() - started) * 1000
        after = self._heap.resident()
        self._schedule.trimmed(now, after)
        log_event(
            self._log,
            "heap_trim",
            rss_before_mib=round(before / _MIB, 1),
            rss_after_mib=round(after / _MIB, 1),
            released=released,
            ms=round(ms, 1),
        )
