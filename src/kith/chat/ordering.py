"""Exactly-once, in-order application of a peer's sequenced frames (pure)."""

from __future__ import annotations

from typing import Final

from kith.chat.frames import SequencedFrame

__all__ = ["MAX_PENDING", "SequenceGate"]

MAX_PENDING: Final = 1_000
"""Frames held back while an earlier one is missing; more are dropped (the
sender resends them, as nothing was acknowledged)."""


class SequenceGate:
    """Releases the peer's frames in sequence order, each once.

    Args:
        next_seq: the next sequence number expected (persisted by the node).
    """

    def __init__(self, next_seq: int = 1) -> None:
        self._next = next_seq
        self._pending: dict[int, SequencedFrame] = {}

    @property
    def next_seq(self) -> int:
        """The next sequence number expected."""
        return self._next

    def pending(self) -> list[SequencedFrame]:
        """The frames held back, waiting for an earlier one."""
        return list(self._pending.values())

    def holds_any(self) -> bool:
        """Whether any frame is held back."""
        return bool(self._pending)

    def is_duplicate(self, frame: SequencedFrame) -> bool:
        """Whether ``frame`` was released before."""
        return frame.q < self._next

    def offer(self, frame: SequencedFrame) -> list[SequencedFrame]:
        """Take one frame; returns the frames now ready, in order."""
        if frame.q < self._next:
            return []
        if frame.q > self._next:
            if len(self._pending) < MAX_PENDING:
                self._pending.setdefault(frame.q, frame)
            return []
        ready = [frame]
        self._next += 1
        while self._next in self._pending:
            ready.append(self._pending.pop(self._next))
            self._next += 1
        return ready
