"""Shared test configuration.

Hypothesis: no per-example deadline (these machines are shared and noisy, and
timing is measured by the benchmarks, not the tests). Under CI (``CI`` set) the
examples are derived from each test's name, so a run is reproducible and a
red build can be replayed exactly; locally they stay random, to keep finding
new cases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from kith_testkit.chat_world import ChatWorld

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    """A real ``kith-signal`` and the data directories of two mutual contacts,
    ``a`` and ``b`` (start their nodes with ``world.start``); all stopped after.
    A test module may define its own ``world`` instead."""
    w = ChatWorld(tmp_path)
    yield w
    w.close()
