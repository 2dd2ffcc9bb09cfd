"""Which signaling server to dial next, when the node knows several.

Pure: :class:`DialOrder` holds the URLs in a shuffled order and moves to the
next one after every ended attempt; a round over, it shuffles again. Nodes
given the same list therefore spread over its servers, and a node whose
server died tries another one first. One URL is always that URL. The delay
between attempts is the :class:`~kith.signaling.backoff.BackoffPolicy`'s.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

__all__ = ["DialOrder", "Shuffler"]


class Shuffler(Protocol):
    """Where the order comes from (``random.Random`` fits)."""

    def shuffle(self, x: list[str]) -> None:
        """Shuffle ``x`` in place."""
        ...


class DialOrder:
    """A shuffled ring of server URLs.

    Args:
        urls: One URL or more; repeats are dropped (the first kept).
        rng: The source of the shuffles.

    Raises:
        ValueError: No URL.
    """

    def __init__(self, urls: Sequence[str], rng: Shuffler | None = None) -> None:
        unique = list(dict.fromkeys(urls))
        if not unique:
            raise ValueError("at least one signaling URL is needed")
        self._rng: Shuffler = rng if rng is not None else random.Random()
        self._round = unique
        self._rng.shuffle(self._round)
        self._next = 0

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL, in this round's order."""
        return tuple(self._round)

    @property
    def current(self) -> str:
        """The URL to dial now."""
        return self._round[self._next]

    def advance(self) -> str:
        """Move on after an ended attempt; return the URL to dial next.

        A new round is shuffled again, never starting with the URL just left
        (when there are several).
        """
        left = self.current
        self._next += 1
        if self._next == len(self._round):
            self._next = 0
            self._rng.shuffle(self._round)
            if len(self._round) > 1 and self._round[0] == left:
                self._round.append(self._round.pop(0))
        return self.current
