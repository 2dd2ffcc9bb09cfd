"""The lines a child process writes, read on a thread as they come.

Used by ``kith demo`` for its server and nodes, and by the test kit for the
processes it starts: each needs to wait until a line says something (an
address, "listening") without sleeping, and to see every line afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, TypeVar

__all__ = ["OutputLines"]

T = TypeVar("T")


class OutputLines:
    """Every line read from ``stream`` so far (``lines``, newest last), and a way
    to wait for one. The reader thread ends when the stream does."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def ended(self) -> bool:
        """Whether the stream has ended (the process closed its output)."""
        return not self._reader.is_alive()

    def wait(self, find: Callable[[list[str]], T | None], timeout: float) -> T | None:
        """The first value ``find`` returns for the lines so far that is not
        ``None``; ``None`` once ``timeout`` seconds pass or the stream ends
        without one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = find(self.lines)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    return None
                self._changed.wait(left)

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the stream to end."""
        self._reader.join(timeout)
