"""The capacity search of ``bench_signal.py --capacity``: which change rate to
try next, and what a run of steps says (pure; the benchmark runs the steps).

A step passes when every event arrived, p99 latency stayed under 100 ms and
no connection was lost. The rate grows by a factor until a step fails, then
the gap between the best pass and the first failure is halved until it is
within 10 %. A step that lost connections ends the search: the users it
dropped no longer load the server the way they did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

P99_LIMIT_MS: Final = 100.0
CLOSE_ENOUGH: Final = 1.1  # stop when the failing rate is within 10 % of the passing one
SATURATED_PCT: Final = 90.0


@dataclass(frozen=True)
class Step:
    """One churn at a fixed rate and what it did."""

    changes_per_s: float
    deliveries_per_s: float
    p99_ms: float | None
    missing: int
    lost: int
    server_cpu_pct: float
    generator_cpu_pct: float
    machine_busy_pct: float

    @property
    def passed(self) -> bool:
        return (
            self.p99_ms is not None
            and self.p99_ms < P99_LIMIT_MS
            and self.missing == 0
            and self.lost == 0
        )


def next_rate(steps: Sequence[Step], start: float, factor: float, max_steps: int) -> float | None:
    """The change rate to try next, or ``None`` when the search is over."""
    if not steps:
        return start
    if len(steps) >= max_steps or any(s.lost for s in steps):
        return None
    passing = [s.changes_per_s for s in steps if s.passed]
    failing = [s.changes_per_s for s in steps if not s.passed]
    if not failing:
        return max(passing) * factor
    high = min(failing)
    if not passing:
        return high / factor
    low = max(p for p in passing if p < high) if any(p < high for p in passing) else 0.0
    if low == 0.0 or high / low <= CLOSE_ENOUGH:
        return None
    return round((low + high) / 2, 1)


def best(steps: Sequence[Step]) -> Step | None:
    """The passing step with the most deliveries per second."""
    return max((s for s in steps if s.passed), key=lambda s: s.deliveries_per_s, default=None)


def first_failure(steps: Sequence[Step]) -> Step | None:
    """The failing step at the lowest rate: where the process stops keeping up."""
    return min((s for s in steps if not s.passed), key=lambda s: s.changes_per_s, default=None)


def saturation(step: Step) -> str:
    """Which resource ran out at ``step``, in words."""
    if step.server_cpu_pct >= SATURATED_PCT:
        return f"the server at {step.server_cpu_pct:.0f} % of a core"
    if step.machine_busy_pct >= SATURATED_PCT:
        return (
            f"the machine at {step.machine_busy_pct:.0f} % of all cores "
            f"(server {step.server_cpu_pct:.0f} %, generator {step.generator_cpu_pct:.0f} %)"
        )
    return (
        f"no CPU saturated (server {step.server_cpu_pct:.0f} %, "
        f"machine {step.machine_busy_pct:.0f} %): latency or losses first"
    )
