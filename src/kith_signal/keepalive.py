"""Server connections whose heartbeat pings never fall into step.

websockets pings each connection ``ping_interval`` seconds after its last
ping. After the event loop was busy for a while (a burst of publishes, a
long collection), every overdue ping fires at once, and from then on 10k
connections ping, and answer, in the same few milliseconds of every interval:
a half-second stall of fan-out every ten seconds. Drawing each period at
random from ``[JITTER x interval, interval]`` spreads them out again within
one period, and never makes a period longer than the interval, so the
announced heartbeat bounds (``protocol.md`` §9) hold.
"""

from __future__ import annotations

import random
from typing import Final

from websockets.asyncio.server import ServerConnection

__all__ = ["JITTER", "JitteredConnection"]

JITTER: Final = 0.5
"""Shortest period, as a fraction of the configured interval."""


class JitteredConnection(ServerConnection):
    """A websockets server connection with a random period per heartbeat."""

    @property
    def ping_interval(self) -> float | None:
        """The configured interval, drawn again at random for every period."""
        base = self._base_ping_interval
        return None if base is None else base * random.uniform(JITTER, 1.0)

    @ping_interval.setter
    def ping_interval(self, value: float | None) -> None:
        self._base_ping_interval = value
