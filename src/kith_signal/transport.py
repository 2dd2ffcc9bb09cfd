"""What a session needs of its WebSocket, and the ``websockets`` implementation.

:class:`Channel` is the seam between the session (protocol core, broker,
outbox) and the WebSocket library: receive a message, write a text frame now
or after the socket drains, close with a code, drop the TCP connection. The
``websockets`` channel is here; the ``picows`` one is in
:mod:`kith_signal.picows_transport` (optional dependency).
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

__all__ = ["TRANSPORTS", "Channel", "ChannelClosed", "WebsocketsChannel", "text_frame"]

TRANSPORTS = ("websockets", "picows")
"""Values of ``kith-signal --transport``."""


_FIN_TEXT: Final = 0x81
_LENGTH_16: Final = 126
_LENGTH_64: Final = 127


def text_frame(payload: bytes) -> bytes:
    """One whole, unmasked WebSocket text frame (what a server sends)."""
    size = len(payload)
    if size < _LENGTH_16:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return bytes((_FIN_TEXT, _LENGTH_16)) + size.to_bytes(2, "big") + payload
    return bytes((_FIN_TEXT, _LENGTH_64)) + size.to_bytes(8, "big") + payload


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

    def write_now(self, frame: bytes) -> bool:
        """Write a text frame (``frame`` is its UTF-8) in this turn of the
        loop if the socket is open and not pushing back; False (nothing
        written) otherwise."""

    async def send(self, frame: bytes) -> None:
        """Write a text frame (``frame`` is its UTF-8), waiting while the
        socket pushes back; raises :class:`ChannelClosed` once closed."""

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

    def write_now(self, frame: bytes) -> bool:
        # The bytes ``ws.send`` of a whole text frame would write, with no
        # task to await it and no frame object: this server never fragments
        # or compresses, and a server's frames are unmasked (RFC 6455 §5.2).
        # websockets writes its own frames (pings, close) at once too, so
        # nothing of its is waiting to go out before this one.
        ws = self._ws
        if ws.paused or ws.protocol.state is not State.OPEN:
            return False
        ws.transport.write(text_frame(frame))
        return True

    async def send(self, frame: bytes) -> None:
        try:
            await self._ws.send(frame, text=True)
        except ConnectionClosed:
            raise ChannelClosed from None

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)

    def abort(self) -> None:
        self._ws.transport.abort()
