"""Frames waiting to go out on one WebSocket.

An idle connection holds no queue and no task: a frame for a connection
whose socket takes it is written at once, in the caller's turn of the loop
(no task, no queue). Only when the socket pushes back does a deque and a
writer task exist, which keeps per-connection memory and per-delivery CPU
small when thousands of connections sit idle between presence changes.

While frames wait, a presence frame (``event`` or ``gone``) for a topic
that already has one waiting *replaces* it in place: a topic holds a latest
value, so a subscriber that falls behind gets the newest value of each topic
instead of every intermediate one, and what waits for it is bounded by the
number of topics it subscribes to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kith_signal.transport import Channel, ChannelClosed

__all__ = ["CloseFrame", "Outbox"]


@dataclass(frozen=True)
class CloseFrame:
    """Close the WebSocket after the frames queued before it."""

    code: int
    reason: str


class _Latest:
    """A waiting presence frame that a newer one for its topic replaces."""

    __slots__ = ("frame", "key")

    def __init__(self, key: str, frame: bytes) -> None:
        self.key = key
        self.frame = frame


class Outbox:
    """Sends queued frames in order; never blocks the caller of :meth:`put`.

    Args:
        ws: The connection (either transport).
        stall_timeout: Longest a queued frame may wait for the peer to read.
        on_stall: Called (once, with the queue dropped) when a frame waited
            longer: the peer stopped reading.
    """

    __slots__ = ("_bytes", "_frames", "_latest", "_on_stall", "_stall_timeout", "_writer", "_ws")

    def __init__(self, ws: Channel, stall_timeout: float, on_stall: Callable[[], None]) -> None:
        self._ws = ws
        self._stall_timeout = stall_timeout
        self._on_stall = on_stall
        self._frames: deque[bytes | _Latest | CloseFrame] | None = None
        self._latest: dict[str, _Latest] | None = None
        self._bytes = 0
        self._writer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._frames) if self._frames is not None else 0

    @property
    def ordered(self) -> int:
        """Frames waiting that no newer value replaces (replies, relays, ...)."""
        return len(self) - (len(self._latest) if self._latest is not None else 0)

    @property
    def pending_bytes(self) -> int:
        """Bytes of frames (UTF-8 text) waiting to be written."""
        return self._bytes

    def put(self, item: bytes | CloseFrame) -> None:
        """Send a frame now if the socket takes it, else queue it (or a close)."""
        if isinstance(item, bytes):
            if self._writer is None and self._ws.write_now(item):
                return
            self._bytes += len(item)
        self._queue(item)

    def put_latest(self, key: str, frame: bytes) -> bool:
        """Send or queue a presence frame for topic ``key``; True when it
        replaced a waiting frame of the same topic (collapsed)."""
        waiting = self._latest.get(key) if self._latest is not None else None
        if waiting is not None:
            self._bytes += len(frame) - len(waiting.frame)
            waiting.frame = frame
            return True
        if self._writer is None and self._ws.write_now(frame):
            return False
        if self._latest is None:
            self._latest = {}
        self._latest[key] = slot = _Latest(key, frame)
        self._queue(slot)
        self._bytes += len(frame)
        return False

    async def send(self, frame: bytes) -> None:
        """Send from the connection's own reader: directly when nothing is queued.

        Replies then cost no task; frames already queued keep their order.
        """
        if self._writer is not None:
            self.put(frame)
            return
        with contextlib.suppress(ChannelClosed):
            await self._ws.send(frame)

    async def flushed(self, within: float) -> bool:
        """Wait until everything queued is written; False on timeout."""
        writer = self._writer
        if writer is None:
            return True
        try:
            async with asyncio.timeout(within):
                await asyncio.shield(writer)
        except TimeoutError:
            return False
        return True

    def cancel(self) -> None:
        """Stop writing (the connection is gone)."""
        if self._writer is not None:
            self._writer.cancel()
        self._frames = self._latest = None
        self._bytes = 0

    def _queue(self, item: bytes | _Latest | CloseFrame) -> None:
        if self._frames is None:
            self._frames = deque()
        self._frames.append(item)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())

    def _next(self) -> bytes | CloseFrame:
        assert self._frames is not None
        item = self._frames.popleft()
        if isinstance(item, _Latest):
            assert self._latest is not None
            del self._latest[item.key]
            item = item.frame
        if isinstance(item, bytes):
            self._bytes -= len(item)
        return item

    async def _drain(self) -> None:
        try:
            while self._frames:
                item = self._next()
                if isinstance(item, CloseFrame):
                    self._frames.clear()
                    self._latest, self._bytes = None, 0
                    await self._ws.close(item.code, item.reason)
                else:
                    async with asyncio.timeout(self._stall_timeout):
                        await self._ws.send(item)
        except ChannelClosed:
            pass
        except TimeoutError:
            self._frames = self._latest = None
            self._bytes = 0
            self._on_stall()
        finally:
            self._writer = None
            if not self._frames:
                self._frames = self._latest = None
                self._bytes = 0
