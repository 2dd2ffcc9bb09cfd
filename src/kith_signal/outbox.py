"""Frames waiting to go out on one WebSocket.

An idle connection holds no queue and no task: the deque and the writer task
exist only while frames are waiting, which keeps per-connection memory small
when thousands of connections sit idle between presence changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass

from websockets.asyncio.server import ServerConnection as WebSocket
from websockets.exceptions import ConnectionClosed

__all__ = ["CloseFrame", "Outbox"]


@dataclass(frozen=True)
class CloseFrame:
    """Close the WebSocket after the frames queued before it."""

    code: int
    reason: str


class Outbox:
    """Sends queued frames in order; never blocks the caller of :meth:`put`."""

    __slots__ = ("_frames", "_writer", "_ws")

    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws
        self._frames: deque[str | CloseFrame] | None = None
        self._writer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._frames) if self._frames is not None else 0

    def put(self, item: str | CloseFrame) -> None:
        """Queue a frame (or a close) and make sure a writer is running."""
        if self._frames is None:
            self._frames = deque()
        self._frames.append(item)
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())

    async def send(self, frame: str) -> None:
        """Send from the connection's own reader: directly when nothing is queued.

        Replies then cost no task; frames already queued keep their order.
        """
        if self._writer is not None:
            self.put(frame)
            return
        with contextlib.suppress(ConnectionClosed):
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
        self._frames = None

    async def _drain(self) -> None:
        try:
            while self._frames:
                item = self._frames.popleft()
                if isinstance(item, CloseFrame):
                    self._frames.clear()
                    await self._ws.close(item.code, item.reason)
                else:
                    await self._ws.send(item)
        except ConnectionClosed:
            pass
        finally:
            self._writer = None
            if not self._frames:
                self._frames = None
