"""One WebSocket connection: moves frames between the socket, the protocol
core and the broker. Holds no routing state of its own."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

import msgspec

from kith_proto import wire
from kith_proto.server_core import (
    AUTH_ERROR_CODES,
    Action,
    Close,
    IntroRequest,
    Login,
    MailboxRequest,
    PublishBatchRequest,
    PublishRequest,
    RelayRequest,
    Request,
    RetractRequest,
    Send,
    ServerConnection,
    ServerState,
    SubscribeRequest,
    UnsubscribeRequest,
)
from kith_proto.wire import CloseCode, ErrorCode
from kith_signal.broker import (
    Broker,
    BrokerError,
    Delivery,
    Replaced,
    ReplyBudgetError,
    RetainedLimitError,
    TopicLimitError,
)
from kith_signal.logfmt import log_event
from kith_signal.mailbox.service import Mailbox, unavailable
from kith_signal.metrics import Metrics
from kith_signal.outbox import CloseFrame, Outbox
from kith_signal.transport import Channel, ChannelClosed

__all__ = ["Session"]

MAX_PENDING: Final = 1024
MAX_PENDING_BYTES: Final = 4 * 1024 * 1024
STALL_TIMEOUT: Final = 20.0
SLOW_CONSUMER_GRACE: Final = 2.0
_DELIVERY_KIND: Final = {
    wire.Event: "event",
    wire.Gone: "gone",
    wire.Relayed: "relayed",
    wire.IntroReceived: "intro_received",
}
_encode: Final = msgspec.json.Encoder().encode
"""A frame's UTF-8 text, as the channel writes it (``wire.encode`` without
the round trip through ``str``)."""
_LATEST_VALUE: Final = (wire.Event, wire.Gone)


class Session:
    """Drives one connection until it closes, then detaches it from the broker."""

    __slots__ = (
        "_authenticated",
        "_broker",
        "_clock",
        "_core",
        "_log",
        "_mailbox",
        "_max_pending",
        "_max_pending_bytes",
        "_metrics",
        "_outbox",
        "_started",
        "_ws",
        "conn_id",
    )

    def __init__(
        self,
        ws: Channel,
        core: ServerConnection,
        conn_id: str,
        *,
        broker: Broker,
        metrics: Metrics,
        log: logging.Logger,
        clock: Callable[[], float],
        mailbox: Mailbox | None = None,
        max_pending: int = MAX_PENDING,
        max_pending_bytes: int = MAX_PENDING_BYTES,
        stall_timeout: float = STALL_TIMEOUT,
    ) -> None:
        self._ws = ws
        self._max_pending = max_pending
        self._max_pending_bytes = max_pending_bytes
        self._core = core
        self.conn_id = conn_id
        self._broker = broker
        self._metrics = metrics
        self._mailbox = mailbox
        self._log = log
        self._clock = clock
        self._started = clock()
        self._outbox = Outbox(ws, stall_timeout, self._stalled)
        self._authenticated = False

    async def run(self) -> None:
        """Serve the connection until either side closes it."""
        # The session itself is the sink (``__call__``): no bound method to keep.
        await self._broker.attach(self.conn_id, self)
        try:
            await self._apply(self._core.start())
            await self._read()
        finally:
            await self._broker.detach(self.conn_id)
            if self._authenticated:
                self._metrics.authenticated.dec()
            await self._finish()

    @property
    def pending_bytes(self) -> int:
        """Bytes of frames queued for this connection (the peer is behind)."""
        return self._outbox.pending_bytes

    def deliver(self, delivery: Delivery) -> None:
        """Queue a delivery without blocking."""
        if isinstance(delivery, Replaced):
            log_event(self._log, "replaced", conn=self.conn_id)
            self._apply_local(self._core.replaced())
            return
        outbox = self._outbox
        if len(outbox) and self._backed_up():
            return
        self._metrics.count_delivery(_DELIVERY_KIND[type(delivery)])
        if isinstance(delivery, _LATEST_VALUE):
            # A topic holds a latest value: a newer one replaces a waiting one.
            if outbox.put_latest(delivery.topic, _encode(delivery)):
                self._metrics.collapsed.inc()
            return
        outbox.put(_encode(delivery))

    __call__ = deliver
    """The session itself is the broker's sink (one call less per delivery)."""

    def _backed_up(self) -> bool:
        """Whether the peer is so far behind that it is closed as a slow consumer."""
        outbox = self._outbox
        if outbox.ordered < self._max_pending and outbox.pending_bytes <= self._max_pending_bytes:
            return False
        # Say goodbye in case it catches up, but a peer that does not read
        # at all would block the close handshake too: cut it after a grace.
        self._apply_local(self._core.slow_consumer())
        asyncio.get_running_loop().call_later(SLOW_CONSUMER_GRACE, self.abort)
        return True

    def _stalled(self) -> None:
        """A queued frame waited ``stall_timeout`` for the peer to read: it
        will not read a goodbye either, so close as a slow consumer at once."""
        self._core.slow_consumer()
        self._metrics.closes.labels(str(int(CloseCode.SLOW_CONSUMER))).inc()
        log_event(self._log, "stalled", conn=self.conn_id)
        self.abort()

    def abort(self) -> None:
        """Drop the TCP connection at once (for peers that stopped reading)."""
        if not self._ws.closed:
            log_event(self._log, "aborted", conn=self.conn_id)
            self._ws.abort()

    def shutdown(self) -> None:
        """Tell the client the server is restarting, then close (1012)."""
        self._apply_local(self._core.shutdown())

    # -- reading --

    async def _read(self) -> None:
        ws, core = self._ws, self._core
        while core.state is not ServerState.CLOSED:
            try:
                if core.deadline is None:
                    # No timer object while a client is idle (the usual case).
                    data = await ws.recv()
                else:
                    async with asyncio.timeout(self._timeout()):
                        data = await ws.recv()
            except TimeoutError:
                await self._apply(core.tick(self._clock()))
                continue
            except ChannelClosed:
                return
            await self._handle(data)
            # Not held while waiting for the next frame: a connection would
            # otherwise keep its last frame (a publish_batch of presence for
            # every contact, ~30 KB) for as long as it stays quiet.
            del data

    def _timeout(self) -> float | None:
        deadline = self._core.deadline
        return None if deadline is None else max(0.0, deadline - self._clock())

    async def _handle(self, data: str | bytes) -> None:
        started = time.perf_counter()
        was_ready = self._core.state is ServerState.READY
        actions = self._core.receive(data, self._clock())
        await self._apply(actions)
        kind = type(actions[0]).__name__ if actions else "none"
        self._metrics.frame_timer(kind).observe(time.perf_counter() - started)
        if not was_ready and self._core.state is ServerState.READY:
            self._authenticated = True
            self._metrics.authenticated.inc()
            self._metrics.auth_seconds.observe(self._clock() - self._started)
            log_event(self._log, "authenticated", conn=self.conn_id)

    # -- actions --

    async def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Send(message=message):
                    self._count_sent(message)
                    await self._outbox.send(_encode(message))
                case Close():
                    self._apply_local([action])
                case Login(identity_tag=tag):
                    await self._broker.login(self.conn_id, tag)
                case _:
                    reply = await self._request(action)
                    if reply is not None:
                        await self._apply([reply])

    def _apply_local(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._count_sent(action.message)
                self._outbox.put(_encode(action.message))
            elif isinstance(action, Close):
                self._metrics.closes.labels(str(int(action.code))).inc()
                log_event(
                    self._log,
                    "closing",
                    conn=self.conn_id,
                    code=int(action.code),
                    reason=action.reason,
                )
                self._outbox.put(CloseFrame(action.code, action.reason))

    def _count_sent(self, message: wire.ServerMessage) -> None:
        if isinstance(message, wire.Error):
            self._metrics.errors.labels(message.code).inc()
            if message.code in AUTH_ERROR_CODES:
                self._metrics.auth_failures.labels(message.code).inc()
            log_event(self._log, "error_sent", conn=self.conn_id, code=message.code)

    async def _request(self, request: Request) -> Send | None:
        try:
            return await self._route(request)
        except TopicLimitError as exc:
            return request.refuse(ErrorCode.TOO_MANY_TOPICS, str(exc))
        except RetainedLimitError as exc:
            return request.refuse(ErrorCode.RETAINED_FULL, f"{exc}; try again later")
        except ReplyBudgetError as exc:
            message = f"{exc}, more than the rate allows now; subscribe fewer topics at once"
            return request.refuse(ErrorCode.RATE_LIMITED, message)
        except BrokerError:
            log_event(self._log, "broker_error", logging.ERROR, conn=self.conn_id)
            return request.refuse(ErrorCode.INTERNAL, "routing failed; try again")

    async def _route(self, request: Request) -> Send | None:
        broker, conn = self._broker, self.conn_id
        match request:
            case SubscribeRequest(topics=topics, max_reply_bytes=budget):
                retained = await broker.subscribe(conn, topics, budget)
                return self._core.subscribed(request, retained, self._clock())
            case UnsubscribeRequest(topics=topics):
                await broker.unsubscribe(conn, topics)
                return request.ack()
            case PublishRequest(topic=topic, payload=payload):
                self._metrics.publishes.inc()
                await broker.publish(conn, topic, payload)
                return request.done()
            case PublishBatchRequest(items=items):
                self._metrics.publishes.inc(len(items))
                await broker.publish_batch(conn, items)
                return request.done()
            case RetractRequest(topics=topics):
                await broker.retract(conn, topics)
                return request.ack()
            case RelayRequest(topic=topic, payload=payload):
                delivered = await broker.relay(conn, topic, payload)
                self._metrics.relays.labels("delivered" if delivered else "offline").inc()
                return request.reply(delivered)
            case IntroRequest(topic=topic, payload=payload):
                self._metrics.intros.inc()
                return request.reply(await broker.intro(conn, topic, payload))
            case _ if isinstance(request, MailboxRequest):
                if self._mailbox is None:
                    return unavailable(request)
                return await self._mailbox.handle(request)
        raise AssertionError(f"unknown request {request!r}")  # pragma: no cover

    # -- closing --

    async def _finish(self) -> None:
        closing = self._core.state is ServerState.CLOSED
        if closing and not await self._outbox.flushed(SLOW_CONSUMER_GRACE):
            self.abort()
        self._outbox.cancel()
        code = self._ws.close_code
        log_event(
            self._log,
            "disconnected",
            conn=self.conn_id,
            code=code,
            seconds=round(self._clock() - self._started, 3),
        )
