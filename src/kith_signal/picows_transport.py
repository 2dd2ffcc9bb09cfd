"""``kith-signal --transport picows``: the same endpoint served by ``picows``.

``picows`` parses and writes WebSocket frames in C and calls a listener per
frame; :class:`PicowsChannel` turns those calls into the :class:`Channel`
a session reads from and writes to. The HTTP side: ``picows`` calls the
listener factory for every request, upgrade or not, before it validates the
upgrade, so plain ``GET /healthz`` and ``/metrics`` are answered on the same
port from the factory (synchronously: anything that needs an ``await``,
such as ``/debug/snapshot``, is not served by this transport).

Differences from the ``websockets`` transport, kept small on purpose:
heartbeats are ``picows``' own idle pings (a ping after
``heartbeat_interval`` without data from the peer; a connection that does not
answer within ``heartbeat_timeout`` is closed with 1001, where ``websockets``
closes with 1011); received fragments are joined up to ``max_frame_size``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final

from picows import (
    WSAutoPingStrategy,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from kith_signal.transport import Channel, ChannelClosed

__all__ = ["HttpAnswer", "PicowsChannel", "PicowsServer"]

HttpAnswer = tuple[HTTPStatus, str, str, Mapping[str, str]]
"""A plain HTTP response: status, body, content type, other headers."""

_ABNORMAL: Final = 1006
_INVALID_TEXT: Final = 1007
_READ_BUFFER: Final = 1024
_READ_HIGH: Final = 16
"""Messages waiting for the session before the socket stops being read."""


class PicowsChannel(WSListener):
    """A :class:`Channel` fed by ``picows``' per-frame callbacks."""

    def __init__(
        self,
        subprotocol: str | None,
        on_connected: Callable[[PicowsChannel], None],
        close_timeout: float,
    ) -> None:
        super().__init__()
        self.subprotocol = subprotocol
        self.remote_address: Any = None
        self._on_connected = on_connected
        self._close_timeout = close_timeout
        self._transport: WSTransport | None = None
        self._messages: deque[str | bytes] = deque()
        self._fragments: list[bytes] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._gone: asyncio.Future[None] | None = None
        self._paused = False
        self._reading_paused = False
        self._received_code: int | None = None
        self._sent_code: int | None = None
        self.closed = False

    @property
    def close_code(self) -> int | None:
        if not self.closed:
            return None
        for code in (self._received_code, self._sent_code):
            if code is not None:
                return code
        return _ABNORMAL

    # -- picows callbacks --

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._transport = transport
        self.remote_address = transport.underlying_transport.get_extra_info("peername")
        self._on_connected(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self._push(frame.get_payload_as_bytes(), text=kind is WSMsgType.TEXT)
            else:
                self._fragments = [frame.get_payload_as_bytes()]
                self._fragment_text = kind is WSMsgType.TEXT
        elif kind is WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments.append(frame.get_payload_as_bytes())
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), None
                self._push(data, text=self._fragment_text)
        elif kind is WSMsgType.CLOSE:
            payload = frame.get_payload_as_bytes()
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            self._received_code = code
            if not transport.is_close_frame_sent:
                # Echo the peer's code, as the closing handshake asks.
                transport.send_close(code if code is not None else 1000)  # type: ignore[arg-type]
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        for future in (self._waiter, self._drained, self._gone):
            if future is not None and not future.done():
                future.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _push(self, data: bytes, *, text: bool) -> None:
        message: str | bytes = data
        if text:
            try:
                message = data.decode()
            except UnicodeDecodeError:
                self._close_now(_INVALID_TEXT, "invalid UTF-8")
                return
        self._messages.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if len(self._messages) >= _READ_HIGH and not self._reading_paused:
            assert self._transport is not None
            self._transport.underlying_transport.pause_reading()
            self._reading_paused = True

    # -- Channel --

    async def recv(self) -> str | bytes:
        while not self._messages:
            if self.closed:
                raise ChannelClosed
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._messages.popleft()
        if self._reading_paused and len(self._messages) < _READ_HIGH // 4:
            assert self._transport is not None
            self._reading_paused = False
            if not self.closed:
                self._transport.underlying_transport.resume_reading()
        return message

    def write_now(self, frame: bytes) -> bool:
        transport = self._transport
        if self._paused or self.closed or transport is None or transport.is_close_frame_sent:
            return False
        transport.send(WSMsgType.TEXT, frame)
        return True

    async def send(self, frame: bytes) -> None:
        while self._paused and not self.closed:
            self._drained = asyncio.get_running_loop().create_future()
            try:
                await self._drained
            finally:
                self._drained = None
        transport = self._transport
        if self.closed or transport is None or transport.is_close_frame_sent:
            raise ChannelClosed
        transport.send(WSMsgType.TEXT, frame)

    async def close(self, code: int, reason: str) -> None:
        transport = self._transport
        if self.closed or transport is None:
            return
        if not transport.is_close_frame_sent:
            self._sent_code = code
            transport.send_close(code, reason.encode())  # type: ignore[arg-type]
        self._gone = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._close_timeout):
                await asyncio.shield(self._gone)
        except TimeoutError:
            transport.disconnect(graceful=False)

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.disconnect(graceful=False)

    def _close_now(self, code: int, reason: str) -> None:
        assert self._transport is not None
        if not self._transport.is_close_frame_sent:
            self._sent_code = code
            self._transport.send_close(code, reason.encode())  # type: ignore[arg-type]
        self._transport.disconnect()


def _response(answer: HttpAnswer) -> WSUpgradeResponseWithListener:
    status, body, content_type, headers = answer
    extra = {**headers, "Content-Type": content_type}
    if status >= HTTPStatus.BAD_REQUEST:
        response = WSUpgradeResponse.create_error_response(status, body.encode(), extra)
    else:
        response = WSUpgradeResponse.create_ok_response(body.encode(), extra)
    return WSUpgradeResponseWithListener(response, None)


def _offered(request: WSUpgradeRequest) -> set[str]:
    return {
        name.strip()
        for header in request.headers.getall("Sec-WebSocket-Protocol", [])
        for name in header.split(",")
    }


class PicowsServer:
    """A listening ``picows`` server that hands each WebSocket to ``accept``.

    Used like a ``websockets`` server: ``async with``, ``sockets``,
    ``close()`` then ``wait_closed()`` (which waits for ``accept`` to return
    for every connection).
    """

    def __init__(
        self,
        accept: Callable[[Channel], Coroutine[Any, Any, None]],
        answer_http: Callable[[str, Mapping[str, str]], HttpAnswer | None],
        subprotocol: str,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        heartbeat_interval: float,
        heartbeat_timeout: float,
        close_timeout: float,
        max_frame_size: int,
        log: logging.Logger,
    ) -> None:
        self._accept = accept
        self._answer_http = answer_http
        self._subprotocol = subprotocol
        self._host, self._port, self._tls = host, port, tls
        self._heartbeat = (heartbeat_interval, heartbeat_timeout)
        self._close_timeout = close_timeout
        self._max_frame_size = max_frame_size
        self._log = log
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sockets(self) -> tuple[Any, ...]:
        assert self._server is not None
        return tuple(self._server.sockets)

    async def __aenter__(self) -> PicowsServer:
        interval, timeout = self._heartbeat
        self._server = await ws_create_server(
            self._factory,
            self._host,
            self._port,
            ssl=self._tls,
            enable_auto_ping=True,
            auto_ping_idle_timeout=interval,
            auto_ping_reply_timeout=timeout,
            auto_ping_strategy=WSAutoPingStrategy.PING_WHEN_IDLE,
            max_frame_size=self._max_frame_size,
            # picows' default (16 KiB per connection, grown on demand) is most
            # of an idle connection's memory; frames here are mostly small.
            read_buffer_init_size=_READ_BUFFER,
            logger_name=self._log.getChild("picows"),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self, close_connections: bool = False) -> None:
        """Stop listening (connections are closed by their sessions)."""
        del close_connections
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        """Wait until every connection's ``accept`` has returned."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def _factory(self, request: WSUpgradeRequest) -> WSUpgradeResponseWithListener | PicowsChannel:
        path = request.path.decode("latin-1").split("?", 1)[0]
        answer = self._answer_http(path, request.headers)
        if answer is not None:
            return _response(answer)
        chosen = self._subprotocol if self._subprotocol in _offered(request) else None
        headers = {"Sec-WebSocket-Protocol": chosen} if chosen is not None else None
        channel = PicowsChannel(chosen, self._connected, self._close_timeout)
        return WSUpgradeResponseWithListener(
            WSUpgradeResponse.create_101_response(headers), channel
        )

    def _connected(self, channel: PicowsChannel) -> None:
        task = asyncio.get_running_loop().create_task(self._accept(channel))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
