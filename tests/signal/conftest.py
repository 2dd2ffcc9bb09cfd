"""Fixtures for tests against a real ``kith-signal`` process."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from signal_support import SignalProcess  # noqa: E402


@pytest.fixture(scope="module")
def server() -> Iterator[SignalProcess]:
    """A shared server with generous limits, for tests that do not change them."""
    process = SignalProcess("--rate", "1000", "--debug-snapshot")
    yield process
    process.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., SignalProcess]]:
    """Start a dedicated server with the given flags; stopped after the test."""
    started: list[SignalProcess] = []

    def start(*flags: str) -> SignalProcess:
        process = SignalProcess(*flags)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
