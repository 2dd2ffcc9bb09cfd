"""A deliberately minimal WebSocket client for the signaling load generator.

One :class:`RawClient` per simulated user, as an ``asyncio.Protocol``: no
tasks, no queues, no per-connection keepalive. It does the opening handshake,
parses unfragmented server frames, answers pings, and writes text frames
with an all-zero mask key (valid per RFC 6455 section 5.3, and it makes
masking free: the generator shares two cores with the server, so every
microsecond it spends is taken from the server it measures).

Not for production: no Sec-WebSocket-Accept check, no fragmentation, no
extensions. It authenticates with the real signature (``kith_proto.auth``).
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from typing import Final

import msgspec

from kith_proto import wire
from kith_proto.auth import KEY_TYPE, sign_auth
from kith_proto.keys import IdentityKeys

__all__ = ["Inbound", "RawClient", "text_frame"]

_ZERO_MASK: Final = b"\x00\x00\x00\x00"
OP_TEXT: Final = 0x1
OP_CLOSE: Final = 0x8
OP_PING: Final = 0x9
OP_PONG: Final = 0xA


class Inbound(msgspec.Struct):
    """The fields of a server frame the generator looks at (others ignored)."""

    type: str
    nonce: str = ""
    topic: str = ""
    payload: str = ""
    code: str = ""
    ref: int | None = None


_decode: Final = msgspec.json.Decoder(Inbound).decode


def text_frame(data: bytes, opcode: int = OP_TEXT) -> bytes:
    """A masked client frame (zero mask key) carrying ``data``."""
    size = len(data)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + _ZERO_MASK + data


class RawClient(asyncio.Protocol):
    """One authenticated kith.v1 connection driven by callbacks of its owner.

    Args:
        url: The server URL to sign (its public URL).
        host_header: ``host:port`` for the handshake.
        on_frame: Called with every decoded text frame after ``welcome``.
        on_lost: Called once if the connection drops or fails.
    """

    def __init__(
        self,
        url: str,
        host_header: str,
        on_frame: Callable[[RawClient, Inbound], None],
        on_lost: Callable[[RawClient, str], None],
    ) -> None:
        self.url = url
        self.host_header = host_header
        self.on_frame = on_frame
        self.on_lost = on_lost
        self.keys = IdentityKeys.generate()
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closing = False
        self.user = -1
        self._buffer = bytearray()
        self._upgraded = False

    # -- asyncio.Protocol --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET / HTTP/1.1\r\nHost: {self.host_header}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {wire.SUBPROTOCOL}\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded and not self._upgrade():
            return
        self._parse_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = "closed" if exc is None else type(exc).__name__
        self._fail(reason)

    # -- sending --

    def send(self, text: bytes) -> None:
        """Send one text frame."""
        if self.transport is not None and not self.closing:
            self.transport.write(text_frame(text))

    def send_many(self, texts: list[bytes]) -> None:
        """Send several text frames in one write."""
        if self.transport is not None and not self.closing:
            self.transport.write(b"".join(text_frame(t) for t in texts))

    def close(self) -> None:
        """Close without waiting for the closing handshake."""
        self.closing = True
        if self.transport is not None:
            self.transport.write(text_frame(b"\x03\xe8", OP_CLOSE))
            self.transport.close()

    # -- receiving --

    def _upgrade(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = bytes(self._buffer[: self._buffer.find(b"\r\n")])
        del self._buffer[: end + 4]
        if b" 101 " not in status:
            self._fail(f"handshake refused: {status.decode(errors='replace')}")
            return False
        self._upgraded = True
        return True

    def _parse_frames(self) -> None:
        buffer, pos, end = self._buffer, 0, len(self._buffer)
        while end - pos >= 2:
            opcode, size, start = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F, pos + 2
            if size == 126:
                if end - pos < 4:
                    break
                size, start = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), pos + 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, start = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), pos + 10
            if end - start < size:
                break
            self._on_frame(opcode, bytes(buffer[start : start + size]))
            pos = start + size
        del buffer[:pos]

    def _on_frame(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            self._on_text(_decode(payload))
        elif opcode == OP_PING and self.transport is not None:
            self.transport.write(text_frame(payload, OP_PONG))
        elif opcode == OP_CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._fail(f"server closed {code}")

    def _on_text(self, frame: Inbound) -> None:
        if self.ready.done():
            self.on_frame(self, frame)
        elif frame.type == "challenge":
            self._authenticate(frame.nonce)
        elif frame.type == "welcome":
            self.ready.set_result(None)
        else:
            self._fail(f"auth: {frame.type} {frame.code}")

    def _authenticate(self, nonce: str) -> None:
        signature = sign_auth(self.keys, wire.decode_payload(nonce), self.url)
        auth = wire.Auth(
            key_type=KEY_TYPE,
            key=wire.encode_payload(self.keys.public_key),
            challenge=nonce,
            server=self.url,
            signature=wire.encode_payload(signature),
        )
        self.send(wire.encode(auth).encode())

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        elif not self.closing:
            self.closing = True
            self.on_lost(self, reason)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
