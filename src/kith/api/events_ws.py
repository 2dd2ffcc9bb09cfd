"""``GET /api/events``: one WebSocket carrying the node's live events.

The first messages describe the current state (own status, connection);
then every :mod:`kith.runtime.live` event follows as one JSON text frame
(``{"type": "status" | "presence" | "connection" | "connection_problem" |
"contacts" | "message" | "message_state" | "typing" | "chat_notice", ...}``; ``docs/node.md`` and
``docs/ui.md`` describe each).
The socket is read-only: anything the client sends is ignored. A browser
offers the subprotocols ``kith.events`` and ``kith.session.<secret>`` (its
credential; the guard checks it before the upgrade); the answer selects
``kith.events``, so the secret is never echoed.

A burst of events (what arrived while the socket waited) goes out in one
transport write, each event still its own text frame (:mod:`kith.api.ws_frames`;
the socket is opened without compression). A client that stops reading is
dropped once :data:`MAX_BUFFERED` bytes wait for it, like a subscription
that falls behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

from aiohttp import WSMsgType, web

from kith.api.access import EVENTS_PROTOCOL
from kith.api.json_text import json_bytes
from kith.api.ws_frames import text_frames
from kith.runtime.live import EventHub, NodeEvent, Subscription

__all__ = ["EventsEndpoint"]

HEARTBEAT: Final = 20.0
MAX_BUFFERED: Final = 1 << 20
"""Bytes waiting for a client beyond which it is dropped (it stopped reading)."""


class EventsEndpoint:
    """Serves ``/api/events`` from an :class:`EventHub`.

    Args:
        hub: Where the node's events come from.
        snapshot: The events that describe the current state.
    """

    def __init__(self, hub: EventHub, snapshot: Callable[[], list[NodeEvent]]) -> None:
        self._hub = hub
        self._snapshot = snapshot
        self._sockets: set[web.WebSocketResponse] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Upgrade, send the snapshot, then stream events until either side closes."""
        ws = web.WebSocketResponse(
            heartbeat=HEARTBEAT, max_msg_size=4096, protocols=(EVENTS_PROTOCOL,), compress=False
        )
        await ws.prepare(request)
        subscription = self._hub.subscribe()
        self._sockets.add(ws)
        reader = asyncio.create_task(self._drain(ws))
        try:
            for event in self._snapshot():
                await ws.send_json(event.to_json())
            await self._stream(ws, request, subscription, reader)
        finally:
            self._hub.unsubscribe(subscription)
            self._sockets.discard(ws)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await ws.close()
        return ws

    async def _stream(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        subscription: Subscription,
        reader: asyncio.Task[None],
    ) -> None:
        while not reader.done():
            getter = asyncio.ensure_future(subscription.next())
            await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return
            events = [getter.result()]
            while not subscription.queue.empty():  # a burst: no task and wait per event
                events.append(subscription.queue.get_nowait())
            closed = None in events
            texts = [json_bytes(e.to_json()) for e in events if e is not None]
            transport = request.transport
            if ws.closed or transport is None or transport.is_closing():
                return
            if len(texts) == 1:
                await ws.send_str(texts[0].decode("utf-8"))
            elif texts:
                transport.write(text_frames(texts))
                if transport.get_write_buffer_size() > MAX_BUFFERED:
                    return
            if closed:
                return

    @staticmethod
    async def _drain(ws: web.WebSocketResponse) -> None:
        async for message in ws:
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                return

    async def close_all(self) -> None:
        """Close every open socket (the node is stopping)."""
        for ws in list(self._sockets):
            await ws.close()
