"""Run ``kith-signal`` with a garbage-collector trace (benchmark diagnostic).

Usage: ``python signal_gctrace.py [kith-signal flags]``. Same server, same
flags; in addition every collection of the oldest generation that takes more
than 10 ms is logged to stderr as ``event=gc_pause gen=2 ms=...`` (younger
ones as ``event=gc_young_pause``)
so that ``bench_signal.py`` can tell collector pauses from queueing. With
``KITH_GCTRACE_TYPES=1`` the first pause over 500 ms also logs the most
common tracked object types (``event=gc_types``). SIGUSR1 runs a full
collection and then ``gc.freeze()``: a diagnostic that shows what latency
would be without full collections over the connections' objects (not a fix:
frozen cyclic garbage is never freed). ``KITH_GC_THRESHOLD=T0,T1,T2`` calls
``gc.set_threshold`` (to try tunings). ``KITH_SIGNAL_PROFILE=FILE`` runs the
server under cProfile and writes the statistics to FILE at exit. SIGUSR2
logs the number of tracked objects by type (``event=gc_census``).
``KITH_TRACEMALLOC=FILE`` traces allocations and appends the 25 largest
allocation sites of what is alive to FILE every 5 seconds (a diagnostic of
where the memory per connection goes; it slows the server several times).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from collections import Counter
from typing import Any

_started: list[float] = [0.0]
_shown: list[bool] = []


def _trace(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    ms = (time.perf_counter() - _started[0]) * 1000
    generation = info.get("generation")
    if ms > 10 and generation != 2:
        sys.stderr.write(f"event=gc_young_pause gen={generation} ms={ms:.1f}\n")
    if ms > 10 and generation == 2:
        sys.stderr.write(f"event=gc_pause gen=2 ms={ms:.1f}\n")
        if ms > 500 and os.environ.get("KITH_GCTRACE_TYPES") and not _shown:
            _shown.append(True)
            kinds = Counter(type(o).__name__ for o in gc.get_objects())
            sys.stderr.write(
                f"event=gc_types objects={sum(kinds.values())} top={kinds.most_common(12)}\n"
            )
        sys.stderr.flush()


def main() -> int:
    """Install the trace and run the real server's entry point."""
    from kith_signal.cli import main as server_main

    gc.callbacks.append(_trace)
    if threshold := os.environ.get("KITH_GC_THRESHOLD"):
        gc.set_threshold(*(int(t) for t in threshold.split(",")))
    signal.signal(signal.SIGUSR1, _freeze)
    signal.signal(signal.SIGUSR2, _census)
    if trace_to := os.environ.get("KITH_TRACEMALLOC"):
        _trace_allocations(trace_to)
    profile_to = os.environ.get("KITH_SIGNAL_PROFILE")
    if not profile_to:
        return server_main(sys.argv[1:])
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(server_main, sys.argv[1:])
    finally:
        profiler.dump_stats(profile_to)


def _trace_allocations(path: str) -> None:
    """Start tracemalloc and a daemon thread appending the top sites to ``path``."""
    import threading
    import tracemalloc

    tracemalloc.start()

    def dump() -> None:
        while True:
            time.sleep(5)
            top = tracemalloc.take_snapshot().statistics("lineno")[:25]
            total = tracemalloc.get_traced_memory()[0]
            with open(path, "a") as out:
                out.write(f"-- t={time.monotonic():.0f} traced_mib={total / 2**20:.1f}\n")
                out.writelines(
                    f"{s.size / 2**20:8.2f} MiB {s.count:8d} {s.traceback}\n" for s in top
                )

    threading.Thread(target=dump, daemon=True).start()


def _freeze(signum: int, frame: object) -> None:
    """SIGUSR1: move every live object out of the collector's reach (diagnostic)."""
    del signum, frame
    gc.collect()
    gc.freeze()
    sys.stderr.write(f"event=gc_frozen objects={gc.get_freeze_count()}\n")
    sys.stderr.flush()


def _census(signum: int, frame: object) -> None:
    """SIGUSR2: log how many objects the collector tracks, by type (diagnostic)."""
    del signum, frame
    kinds = Counter(type(o).__name__ for o in gc.get_objects())
    sys.stderr.write(
        f"event=gc_census objects={sum(kinds.values())} frozen={gc.get_freeze_count()} "
        f"top={kinds.most_common(25)}\n"
    )
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
