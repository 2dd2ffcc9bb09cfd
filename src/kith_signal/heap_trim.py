"""Giving the C heap's free pages back to the system after a burst (glibc).

A burst (everyone's initial presence at once, a reconnect storm) has the
server hold many frames for a moment; once they are written, glibc keeps
the freed memory for reuse and the process's RSS stays at the burst's peak
(about 15 KiB per user at 10k users with 50 contacts, measured by
``bench/bench_signal.py``). ``malloc_trim(0)`` returns the free pages inside
the heap too, at the cost of one pause that grows with the heap (logged as
``event=heap_trim ms=...``).

:class:`TrimSchedule` decides when (pure): after a burst, that is when the
bytes in use fell by at least ``min_freed`` from their highest point since
the last trim, once the heap has settled (the bytes in use moved by less
than ``settled_fraction`` since the previous check), and at most once every
``min_interval`` seconds. A heap that only grows, or holds steady, is never
trimmed (glibc's free bytes do not go down after a trim, since the pages
stay in the heap, unbacked: they cannot tell a trim is due). :class:`GlibcHeap` is
the binding; :meth:`GlibcHeap.load` returns None on any other C library
(musl, macOS, Windows), where trimming is off. The managed garbage-collector
policy (:mod:`kith_signal.gc_policy`) runs the check on its timer.
"""

from __future__ import annotations

import ctypes
import logging
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

    min_freed: int = 32 * _MIB
    min_interval: float = 10.0
    settled_fraction: float = 0.05

    def __post_init__(self) -> None:
        if self.min_freed < 0 or self.min_interval < 0 or not 0 < self.settled_fraction < 1:
            raise ValueError("heap trim thresholds must be >= 0 and the fraction in (0, 1)")


class TrimSchedule:
    """Decides when to trim, from the heap's bytes in use (pure)."""

    __slots__ = ("_last_in_use", "_peak", "_settings", "_trimmed_at")

    def __init__(self, settings: TrimSettings) -> None:
        self._settings = settings
        self._trimmed_at: float | None = None
        self._last_in_use: int | None = None
        self._peak = 0

    def due(self, now: float, in_use: int) -> bool:
        """Whether to trim now; every call is one check (``in_use`` is
        compared with the previous check's and the peak since the last trim)."""
        s = self._settings
        previous, self._last_in_use = self._last_in_use, in_use
        self._peak = max(self._peak, in_use)
        if previous is None or abs(in_use - previous) > s.settled_fraction * max(previous, 1):
            return False
        if self._peak - in_use < s.min_freed:
            return False
        return self._trimmed_at is None or now - self._trimmed_at >= s.min_interval

    def trimmed(self, now: float) -> None:
        """A trim finished at ``now``: the next burst is measured from here."""
        self._trimmed_at = now
        self._peak = self._last_in_use or 0


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


class GlibcHeap:
    """glibc's ``mallinfo2`` and ``malloc_trim`` (use :meth:`load`)."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._info = libc.mallinfo2
        self._info.argtypes = []
        self._info.restype = _MallInfo2
        self._trim = libc.malloc_trim
        self._trim.argtypes = [ctypes.c_size_t]
        self._trim.restype = ctypes.c_int

    @classmethod
    def load(cls) -> GlibcHeap | None:
        """The binding, or None when the C library is not glibc 2.33 or later."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(None)
        except OSError:
            return None
        if not all(hasattr(libc, f) for f in ("gnu_get_libc_version", "mallinfo2", "malloc_trim")):
            return None
        return cls(libc)

    def usage(self) -> tuple[int, int]:
        """Bytes of the heap in use and free (every arena; mmapped blocks apart)."""
        info = self._info()
        return int(info.uordblks), int(info.fordblks)

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
        in_use, free = self._heap.usage()
        if not self._schedule.due(now, in_use):
            return
        started = time.perf_counter()
        released = self._heap.trim()
        ms = (time.perf_counter() - started) * 1000
        self._schedule.trimmed(now)
        log_event(
            self._log,
            "heap_trim",
            free_mib=round(free / _MIB, 1),
            in_use_mib=round(in_use / _MIB, 1),
            released=released,
            ms=round(ms, 1),
        )
