"""What a session needs of its WebSocket, and the ``websockets`` implementation.

:class:`Channel` is the seam between the session (protocol core, broker,
outbox) and the WebSocket library: receive a message, write a text frame now
or after the socket drains, close with a code, drop the TCP connection. The
``websockets`` channel is here; the ``picows`` one is in
:mod:`kith_signal.picows_transport` (optional dependency).
"""

from __future__ import annotations

from typing import Any, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

__all__ = ["TRANSPORTS", "Channel", "ChannelClosed", "WebsocketsChannel"]

TRANSPORTS = ("websockets", "picows")
"""Values of ``kith-signal --transport``."""


class ChannelClosed(Exception):
    """The WebSocket is closed: nothing more can be received or sent."""


class Channel(Protocol):
    """One accepted WebSocket connection, as a session uses it."""

    @property
    def subprotocol(self) -> str | None:
        """The negotiated subprotocol (``None``: the client offered none we speak)."""

    @property
    def remote_address(self) -> Any:
        """The peer's socket address (``(host, port, ...)``) or ``None``."""

    @property
    def close_code(self) -> int | None:
        """The close code once closed (``None`` while open)."""

    @property
    def closed(self) -> bool:
        """Whether the TCP connection is gone."""

    async def recv(self) -> str | bytes:
        """The next message; raises :class:`ChannelClosed` once closed."""

    def write_now(self, frame: str) -> bool:
        """Write a text frame in this turn of the loop if the socket is open
        and not pushing back; False (nothing written) otherwise."""

    async def send(self, frame: str) -> None:
        """Write a text frame, waiting while the socket pushes back; raises
        :class:`ChannelClosed` once closed."""

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame and wait (bounded) for the closing handshake."""

    def abort(self) -> None:
        """Drop the TCP connection at once."""


class WebsocketsChannel:
    """A :class:`Channel` over a ``websockets`` server connection."""

    __slots__ = ("_ws",)

    def __init__(self, ws: ServerConnection) -> None:
        self._ws = ws

    @property
    def subprotocol(self) -> str | None:
        return self._ws.subprotocol

    @property
    def remote_address(self) -> Any:
        return self._ws.remote_address

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    @property
    def closed(self) -> bool:
        return self._ws.state is State.CLOSED

    async def recv(self) -> str | bytes:
        try:
            return await self._ws.recv()
        except ConnectionClosed:
            raise ChannelClosed from None

    def write_now(self, frame: str) -> bool:
        # What ``ws.send`` of a whole text frame does, with no task to await
        # it (this server never sends fragmented messages).
        ws = self._ws
        if ws.paused or ws.protocol.state is not State.OPEN:
            return False
        ws.protocol.send_text(frame.encode())
        ws.send_data()
        return True

    async def send(self, frame: str) -> None:
        try:
            await self._ws.send(frame)
        except ConnectionClosed:
            raise ChannelClosed from None

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)

    def abort(self) -> None:
        self._ws.transport.abort()
