"""The WebSocket adapter: accepts connections, serves /healthz and /metrics,
and shuts down gracefully. Routing lives in the broker, protocol in the core."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import os
import secrets
import signal
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol, cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from kith_proto import wire
from kith_proto.auth import CHALLENGE_SIZE
from kith_proto.server_core import Action, Close, Send, ServerConfig, address_full, server_full
from kith_proto.server_core import ServerConnection as ProtocolCore
from kith_signal.addresses import Address, AddressLimit, client_address
from kith_signal.broker import Broker
from kith_signal.gc_policy import GcPolicy
from kith_signal.keepalive import JitteredConnection
from kith_signal.logfmt import log_event
from kith_signal.mailbox.service import Mailbox
from kith_signal.metrics import Metrics
from kith_signal.session import MAX_PENDING, MAX_PENDING_BYTES, STALL_TIMEOUT, Session
from kith_signal.transport import Channel, ChannelClosed, WebsocketsChannel
from kith_signal.turn import TurnIssuer

if TYPE_CHECKING:
    from kith_signal.picows_transport import HttpAnswer, PicowsServer

__all__ = ["Cluster", "ServerOptions", "SignalServer"]

SHUTDOWN_GRACE = 5.0
# Wait for a peer's closing handshake at most this long: a dead peer never answers,
# so this bounds how long after a heartbeat timeout its topics are announced gone.
CLOSE_TIMEOUT = 2.0
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_NO_HEADERS = Headers()  # shared, never written: see SignalServer._handle


@dataclass(frozen=True)
class ServerOptions:
    """How the process listens; protocol limits are in ``protocol``.

    ``max_connections_per_address`` (0: off) does not apply to connections
    from ``trusted_proxies``. With ``metrics_port`` set, ``/metrics`` is
    served only there (on ``metrics_host``); with ``metrics_token`` set, it
    answers only requests with ``Authorization: Bearer <token>``.
    """

    host: str = "127.0.0.1"
    port: int = wire.DEFAULT_SIGNAL_PORT
    public_url: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    max_connections: int = 10000
    max_connections_per_address: int = 64
    trusted_proxies: frozenset[Address] = frozenset()
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    metrics_token: str | None = field(default=None, repr=False)
    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 10.0
    debug_snapshot: bool = False
    max_pending: int = MAX_PENDING
    max_pending_bytes: int = MAX_PENDING_BYTES
    stall_timeout: float = STALL_TIMEOUT
    transport: str = "websockets"


class Cluster(Protocol):
    """What the server needs of a shared broker besides routing (the Redis one)."""

    async def start(self) -> None:
        """Start connecting (in the background: the server listens meanwhile)."""

    async def close(self) -> None:
        """Stop, after every connection has been detached."""

    def unhealthy_reason(self) -> str | None:
        """Why ``/healthz`` should fail now; ``None`` when healthy."""


def _select_subprotocol(
    connection: ServerConnection, subprotocols: Sequence[Subprotocol]
) -> Subprotocol | None:
    """Accept ``kith.v2`` when offered; otherwise let the handler close clearly."""
    del connection
    return Subprotocol(wire.SUBPROTOCOL) if wire.SUBPROTOCOL in subprotocols else None


class SignalServer:
    """One ``kith-signal`` process.

    Args:
        options: Listening options.
        protocol: Protocol limits; ``public_url`` is filled in after binding
            when ``options.public_url`` is not set.
        broker: Routing state.
        metrics: Where counters go.
        log: Structured logger.
        clock: Monotonic clock in seconds.
        mailbox: The offline mailbox (``None``: ``mailbox_*`` requests get
            ``mailbox_unavailable``).
        gc_policy: When to collect garbage (``None``: CPython's default, as
            an embedding process may prefer); the CLI passes the managed one.
        turn: Mints the TURN credentials each connection gets in ``welcome``
            (``None``: no TURN relay is offered).
        cluster: The broker's lifecycle and health when it is shared by
            several processes (``None``: the in-process broker).
        tag_key: The key of the identity tag behind the one-login rule; a
            cluster's processes share it (``None``: a random one per process).
    """

    def __init__(
        self,
        options: ServerOptions,
        protocol: ServerConfig,
        broker: Broker,
        *,
        metrics: Metrics,
        log: logging.Logger,
        clock: Callable[[], float],
        mailbox: Mailbox | None = None,
        gc_policy: GcPolicy | None = None,
        turn: TurnIssuer | None = None,
        cluster: Cluster | None = None,
        tag_key: bytes | None = None,
    ) -> None:
        self._options = options
        self._cluster = cluster
        self._turn = turn
        self._mailbox = mailbox
        self._gc = gc_policy
        self._protocol = protocol
        self._broker = broker
        self._metrics = metrics
        self._log = log
        self._clock = clock
        self._tag_key = tag_key if tag_key is not None else secrets.token_bytes(32)
        self._sessions: dict[str, Session] = {}
        self._addresses = AddressLimit(options.max_connections_per_address, options.trusted_proxies)
        self._stopping = False
        metrics.retained_bytes.set_function(broker.retained_bytes)
        metrics.pending_bytes.set_function(self._pending_bytes)

    @property
    def public_url(self) -> str:
        """The URL clients sign for (known once listening)."""
        return self._protocol.public_url

    async def run(
        self,
        stop: asyncio.Future[None] | None = None,
        *,
        listening: asyncio.Future[str] | None = None,
        handle_signals: bool = True,
    ) -> None:
        """Serve until ``stop`` resolves or SIGTERM/SIGINT arrives.

        Args:
            stop: Resolve it to shut down gracefully.
            listening: Resolved with the public URL once the port is bound.
            handle_signals: Install SIGTERM/SIGINT handlers (the CLI does).
        """
        loop = asyncio.get_running_loop()
        stop = stop if stop is not None else loop.create_future()
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, _resolve, stop)
        async with contextlib.AsyncExitStack() as stack:
            if self._cluster is not None:
                await self._cluster.start()
                stack.push_async_callback(self._cluster.close)
            server = cast("Server | PicowsServer", await stack.enter_async_context(self._serve()))
            self._announce(server)
            if self._options.metrics_port is not None:
                self._announce_metrics(await stack.enter_async_context(self._serve_metrics()))
            if self._gc is not None:
                self._gc.start(self._live)
            try:
                if listening is not None and not listening.done():
                    listening.set_result(self.public_url)
                await stop
                await self._shutdown(server)
            finally:
                if self._gc is not None:
                    self._gc.stop()

    def _pending_bytes(self) -> int:
        return sum(session.pending_bytes for session in self._sessions.values())

    def _live(self) -> int:
        return len(self._sessions)

    def _serve(self) -> Server | PicowsServer:
        options = self._options
        if options.transport == "picows":
            from kith_signal.picows_transport import PicowsServer

            return PicowsServer(
                self.serve_channel,
                self._http_answer,
                wire.SUBPROTOCOL,
                options.host,
                options.port,
                tls=self._tls(),
                heartbeat_interval=options.heartbeat_interval,
                heartbeat_timeout=options.heartbeat_timeout,
                close_timeout=min(CLOSE_TIMEOUT, options.heartbeat_timeout),
                max_frame_size=2 * self._protocol.max_frame_bytes,
                log=self._log,
            )
        return serve(
            self._handle,
            options.host,
            options.port,
            ssl=self._tls(),
            compression=None,
            subprotocols=[Subprotocol(wire.SUBPROTOCOL)],
            select_subprotocol=_select_subprotocol,
            process_request=self._process_request,
            create_connection=JitteredConnection,
            ping_interval=options.heartbeat_interval,
            ping_timeout=options.heartbeat_timeout,
            close_timeout=min(CLOSE_TIMEOUT, options.heartbeat_timeout),
            max_size=2 * self._protocol.max_frame_bytes,
            logger=self._log.getChild("websockets"),
        )

    def _serve_metrics(self) -> Server:
        """A listener of its own for ``/metrics`` (and ``/healthz``), no WebSocket."""
        options = self._options
        assert options.metrics_port is not None
        return serve(
            _refuse_websocket,
            options.metrics_host,
            options.metrics_port,
            compression=None,
            process_request=self._process_metrics_request,
            logger=self._log.getChild("websockets"),
        )

    def _announce_metrics(self, server: Server) -> None:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        log_event(self._log, "metrics_listening", host=host, port=port)

    def _tls(self) -> ssl.SSLContext | None:
        if not self._options.tls_cert:
            return None
        for path in (self._options.tls_cert, self._options.tls_key):
            if path:
                os.stat(path)  # ssl's own errors do not name the missing file
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._options.tls_cert, self._options.tls_key)
        return context

    def _announce(self, server: Server | PicowsServer) -> None:
        host, port = next(iter(server.sockets)).getsockname()[:2]
        scheme = "wss" if self._options.tls_cert else "ws"
        shown = f"[{host}]" if ":" in host else host
        public_url = self._options.public_url or f"{scheme}://{shown}:{port}"
        self._protocol = dataclasses.replace(self._protocol, public_url=public_url)
        log_event(
            self._log,
            "listening",
            host=host,
            port=port,
            tls=bool(self._options.tls_cert),
            public_url=public_url,
        )

    async def _shutdown(self, server: Server | PicowsServer) -> None:
        self._stopping = True
        log_event(self._log, "shutting_down", connections=len(self._sessions))
        server.close(close_connections=False)
        for session in list(self._sessions.values()):
            session.shutdown()
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await server.wait_closed()
        except TimeoutError:
            for session in list(self._sessions.values()):
                session.abort()
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await server.wait_closed()
        log_event(self._log, "stopped")

    # -- HTTP --

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return self._health(connection)
        if path == "/metrics" and self._options.metrics_port is None:
            return self._serve_metrics_page(connection, request)
        if path == "/debug/snapshot" and self._options.debug_snapshot:
            body = json.dumps(await self._broker.snapshot(), sort_keys=True)
            return _text(connection, HTTPStatus.OK, body, "application/json")
        if "upgrade" not in request.headers.get("Connection", "").lower():
            return _text(connection, HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def _process_metrics_request(
        self, connection: ServerConnection, request: Request
    ) -> Response:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return self._health(connection)
        if path == "/metrics":
            return self._serve_metrics_page(connection, request)
        return _text(connection, HTTPStatus.NOT_FOUND, "not found\n")

    def _health(self, connection: ServerConnection) -> Response:
        status, body = self._health_answer()
        return _text(connection, status, body)

    def _health_answer(self) -> tuple[HTTPStatus, str]:
        reason = self._cluster.unhealthy_reason() if self._cluster is not None else None
        if reason is None:
            return HTTPStatus.OK, "ok\n"
        return HTTPStatus.SERVICE_UNAVAILABLE, f"unhealthy: {reason}\n"

    def _http_answer(self, path: str, headers: Mapping[str, str]) -> HttpAnswer | None:
        """Plain HTTP on the WebSocket port for the picows transport (synchronous,
        so ``/debug/snapshot`` is not served there); ``None``: a WebSocket upgrade."""
        text = "text/plain; charset=utf-8"
        if path == "/healthz":
            return (*self._health_answer(), text, {})
        if path == "/metrics" and self._options.metrics_port is None:
            token = self._options.metrics_token
            if token is not None and not _bearer_matches(headers, token):
                challenge = {"WWW-Authenticate": 'Bearer realm="metrics"'}
                return HTTPStatus.UNAUTHORIZED, "metrics need a token\n", text, challenge
            return HTTPStatus.OK, self._metrics.render().decode(), METRICS_CONTENT_TYPE, {}
        if "upgrade" not in headers.get("Connection", "").lower():
            return HTTPStatus.NOT_FOUND, "not found\n", text, {}
        return None

    def _serve_metrics_page(self, connection: ServerConnection, request: Request) -> Response:
        token = self._options.metrics_token
        if token is not None and not _bearer_matches(request.headers, token):
            response = _text(connection, HTTPStatus.UNAUTHORIZED, "metrics need a token\n")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        body = self._metrics.render().decode()
        return _text(connection, HTTPStatus.OK, body, METRICS_CONTENT_TYPE)

    # -- WebSocket --

    async def _handle(self, ws: ServerConnection) -> None:
        # websockets keeps the handshake's request and response (two header
        # maps: about twenty tracked objects) for the connection's life;
        # nothing reads their headers after the handshake. The request object
        # itself must stay (websockets tells the handshake from later frames
        # by it): every object a connection keeps alive is one more for the
        # garbage collector to walk.
        ws.response = None
        if ws.request is not None:
            ws.request.headers = _NO_HEADERS
        await self.serve_channel(WebsocketsChannel(ws))

    async def serve_channel(self, ws: Channel) -> None:
        """Admit one accepted WebSocket and serve it until it closes (either transport)."""
        address = client_address(ws.remote_address)
        if not await self._admit(ws, address):
            return
        conn_id = secrets.token_hex(8)
        now = self._clock()
        core = ProtocolCore(
            self._protocol,
            nonce=secrets.token_bytes(CHALLENGE_SIZE),
            tag_key=self._tag_key,
            now=now,
            turn=self._turn.issue() if self._turn is not None else (),
        )
        session = Session(
            ws,
            core,
            conn_id,
            broker=self._broker,
            metrics=self._metrics,
            log=self._log,
            clock=self._clock,
            mailbox=self._mailbox,
            max_pending=self._options.max_pending,
            max_pending_bytes=self._options.max_pending_bytes,
            stall_timeout=self._options.stall_timeout,
        )
        self._sessions[conn_id] = session
        self._metrics.connections.inc()
        self._metrics.connections_total.inc()
        if self._gc is not None:
            self._gc.opened()
        log_event(self._log, "connected", conn=conn_id)
        try:
            await session.run()
        finally:
            del self._sessions[conn_id]
            self._addresses.release(address)
            self._metrics.connections.dec()
            if self._gc is not None:
                self._gc.closed(now)

    async def _admit(self, ws: Channel, address: Address | None) -> bool:
        """Refuse what the server cannot take; count the address of the rest."""
        if ws.subprotocol != wire.SUBPROTOCOL:
            self._metrics.rejected_total.labels("unsupported_protocol").inc()
            reason = f"{wire.ErrorCode.UNSUPPORTED_PROTOCOL}: offer {wire.SUBPROTOCOL}"
            await ws.close(wire.CloseCode.UNSUPPORTED_PROTOCOL, reason)
            return False
        if self._stopping or len(self._sessions) >= self._options.max_connections:
            await self._refuse(ws, server_full(), "server_full")
            return False
        if not self._addresses.admit(address):
            await self._refuse(ws, address_full(), "too_many_connections")
            return False
        return True

    async def _refuse(self, ws: Channel, actions: list[Action], reason: str) -> None:
        self._metrics.rejected_total.labels(reason).inc()
        try:
            for action in actions:
                if isinstance(action, Send):
                    await ws.send(wire.encode(action.message).encode())
                elif isinstance(action, Close):
                    await ws.close(action.code, action.reason)
        except ChannelClosed:
            pass


def _text(
    connection: ServerConnection,
    status: HTTPStatus,
    body: str,
    content_type: str = "text/plain; charset=utf-8",
) -> Response:
    response = connection.respond(status, body)
    headers = [(k, v) for k, v in response.headers.raw_items() if k.lower() != "content-type"]
    response.headers = Headers([*headers, ("Content-Type", content_type)])
    return response


def _bearer_matches(headers: Headers | Mapping[str, str], token: str) -> bool:
    """Whether ``Authorization`` is ``Bearer <token>`` (compared in constant time)."""
    scheme, _, given = headers.get("Authorization", "").partition(" ")
    expected, offered = token.encode(), given.strip().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(expected, offered)


async def _refuse_websocket(ws: ServerConnection) -> None:
    """The metrics listener takes no WebSocket: close at once."""
    await ws.close(wire.CloseCode.NORMAL, "metrics only")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
