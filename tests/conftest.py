"""Shared test configuration.

Hypothesis: no per-example deadline (these machines are shared and noisy, and
timing is measured by the benchmarks, not the tests). Under CI (``CI`` set) the
examples are derived from each test's name, so a run is reproducible and a
red build can be replayed exactly; locally they stay random, to keep finding
new cases.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
