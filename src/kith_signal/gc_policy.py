"""When the server runs CPython's cyclic garbage collector.

A signaling server holds a large, stable heap: every open connection keeps
a few dozen tracked objects (websockets' connection and protocol objects,
coroutines, futures) for hours. CPython's default policy runs a full
collection whenever the old generation grew by a quarter, and a full
collection walks *every* tracked object: at 10k connections that is about a
million objects and a pause of up to seconds, during which no frame moves.

The managed policy (``docs/operations.md``):

* once listening, and after every *light sweep*, everything alive is moved
  to the permanent generation (``gc.freeze()``), so that no collection walks
  it again; automatic collections only look at young objects;
* a light sweep (a full collection of what is not frozen, then a freeze)
  runs every ``interval`` seconds, or sooner once ``sweep_after_opens``
  connections opened since the last one, so each sweep walks at most a
  bounded number of new connections' objects;
* objects frozen while alive and dropped later in a reference cycle (a
  closed connection's garbage) are reclaimed by a *deep sweep*
  (``gc.unfreeze()``, full collection, freeze), which runs once enough
  connections that were alive at a freeze have closed since the last one:
  ``max(deep_after_closes, deep_fraction x open connections)``. That bounds
  the memory held by closed connections and makes the one long pause rare
  (never while connections only come and stay).

:class:`GcSchedule` decides (pure); :class:`GcPolicy` runs it on the loop.
On the same timer it asks a :class:`~kith_signal.heap_trim.HeapTrim`, when
given one, whether to give the C heap's free pages back to the system.
"""

from __future__ import annotations

import asyncio
import enum
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from kith_signal.heap_trim import HeapTrim
from kith_signal.logfmt import log_event

__all__ = ["GcPolicy", "GcSchedule", "GcSettings", "Sweep"]

Clock: TypeAlias = Callable[[], float]
LiveCount: TypeAlias = Callable[[], int]

NO_AUTOMATIC_FULL: Final = 1_000_000_000
"""Third threshold: automatic collections never reach the oldest generation."""


class Sweep(enum.Enum):
    """What the schedule asks for now."""

    LIGHT = "light"
    DEEP = "deep"


@dataclass(frozen=True)
class GcSettings:
    """Knobs of the managed policy; defaults suit 10k connections on one core."""

    interval: float = 60.0
    sweep_after_opens: int = 500
    deep_after_closes: int = 2000
    deep_fraction: float = 0.5
    check_every: float = 1.0
    young_threshold: tuple[int, int] = (700, 10)

    def __post_init__(self) -> None:
        if min(self.interval, self.check_every, self.deep_fraction) <= 0:
            raise ValueError("gc intervals and fractions must be > 0")
        if min(self.sweep_after_opens, self.deep_after_closes, *self.young_threshold) < 1:
            raise ValueError("gc counts must be >= 1")


class GcSchedule:
    """Decides when to sweep, from connection opens/closes and the time (pure)."""

    __slots__ = ("_frozen_at", "_frozen_closes", "_opens", "_settings")

    def __init__(self, settings: GcSettings, now: float) -> None:
        self._settings = settings
        self._frozen_at = now
        self._opens = 0
        self._frozen_closes = 0

    @property
    def frozen_at(self) -> float:
        """When everything alive was last frozen."""
        return self._frozen_at

    def opened(self) -> None:
        """A connection opened."""
        self._opens += 1

    def closed(self, opened_at: float) -> None:
        """A connection opened at ``opened_at`` closed."""
        if opened_at <= self._frozen_at:
            self._frozen_closes += 1

    def due(self, now: float, live: int) -> Sweep | None:
        """The sweep to run now, if any."""
        s = self._settings
        if self._frozen_closes >= max(s.deep_after_closes, s.deep_fraction * live):
            return Sweep.DEEP
        if self._opens >= s.sweep_after_opens or now - self._frozen_at >= s.interval:
            return Sweep.LIGHT
        return None

    def swept(self, sweep: Sweep, now: float) -> None:
        """A sweep finished at ``now`` (and froze everything alive)."""
        self._frozen_at = now
        self._opens = 0
        if sweep is Sweep.DEEP:
            self._frozen_closes = 0


class GcPolicy:
    """Runs a :class:`GcSchedule` against the interpreter's collector.

    Args:
        settings: The policy's knobs.
        log: Where ``event=gc_sweep`` lines go.
        clock: Monotonic clock in seconds (the sessions' clock).
        heap_trim: Checked every ``check_every`` seconds, after any sweep
            (None: the heap is never trimmed).
    """

    def __init__(
        self,
        settings: GcSettings,
        log: logging.Logger,
        clock: Clock,
        heap_trim: HeapTrim | None = None,
    ) -> None:
        self._settings = settings
        self._heap_trim = heap_trim
        self._log = log
        self._clock = clock
        self._schedule = GcSchedule(settings, clock())
        self._saved: tuple[int, int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, live: LiveCount) -> None:
        """Freeze the start-up heap and sweep on the loop from now on."""
        self._saved = gc.get_threshold()
        gc.set_threshold(*self._settings.young_threshold, NO_AUTOMATIC_FULL)
        self.sweep(Sweep.LIGHT, live())
        self._task = asyncio.get_running_loop().create_task(self._run(live))

    def stop(self) -> None:
        """Stop sweeping; give the heap and thresholds back to CPython."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._saved is not None:
            gc.unfreeze()
            gc.set_threshold(*self._saved)
            self._saved = None

    def opened(self) -> None:
        """A connection opened."""
        self._schedule.opened()

    def closed(self, opened_at: float) -> None:
        """A connection opened at ``opened_at`` (on the clock) closed."""
        self._schedule.closed(opened_at)

    def sweep(self, kind: Sweep, live: int) -> None:
        """Run one sweep now and log how long the pause was."""
        started = time.perf_counter()
        if kind is Sweep.DEEP:
            gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self._schedule.swept(kind, self._clock())
        log_event(
            self._log,
            "gc_sweep",
            kind=kind.value,
            ms=round((time.perf_counter() - started) * 1000, 1),
            collected=collected,
            # No gc.get_freeze_count(): it walks every frozen object, a pause
            # of 30-60 ms at 10k connections just to log a number.
            connections=live,
        )

    async def _run(self, live: LiveCount) -> None:
        while True:
            await asyncio.sleep(self._settings.check_every)
            count = live()
            kind = self._schedule.due(self._clock(), count)
            if kind is not None:
                self.sweep(kind, count)
            if self._heap_trim is not None:
                self._heap_trim.check(self._clock())
