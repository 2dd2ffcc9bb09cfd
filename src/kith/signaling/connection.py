"""One WebSocket connection to the server, driven through the client core.

A :class:`ServerConnection` moves frames between the socket and
:class:`kith_proto.client_core.ClientConnection`, converts the core's events
into :mod:`kith.signaling.events`, paces outgoing requests under the limits
the server announced, and matches replies to waiting requests. It lives for
one connection; :class:`~kith.signaling.client.SignalingClient` makes a new
one for every attempt.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Final, TypeAlias

from websockets.asyncio.client import ClientConnection as WebSocket
from websockets.exceptions import ConnectionClosed

from kith.signaling.desired import DesiredState
from kith.signaling.errors import NotConnected, PayloadTooLarge, refusal
from kith.signaling.events import (
    Connected,
    IntroMessage,
    PresenceGone,
    PresenceValue,
    RelayMessage,
    ServerProblem,
    SignalingEvent,
)
from kith.signaling.ops import (
    Ending,
    MailboxBatch,
    MailboxOp,
    Op,
    PublishOp,
    RequestOp,
    RetractOp,
    SubscribeOp,
    batch_cost,
    batch_size,
    chunked,
    split_batch,
)
from kith_proto import client_core as core_events
from kith_proto import wire
from kith_proto.client_core import ClientConnection, ClientState, PayloadTooLargeError
from kith_proto.limits import TokenBucket
from kith_proto.tasks import cancel_and_wait

__all__ = ["Ending", "Op", "PublishOp", "RequestOp", "RetractOp", "ServerConnection", "SubscribeOp"]

PACE_SAFETY: Final = 0.9
"""Fraction of the announced rate we use, so jitter never trips the limit."""
_HEARTBEAT_CLOSE: Final = 1011

Emit: TypeAlias = Callable[[SignalingEvent], None]


class ServerConnection:
    """One connection's I/O.

    Args:
        ws: The open WebSocket.
        core: A fresh client core for this connection.
        desired: The node's desired state (read, never changed here).
        emit: Where converted events go.
        clock: Monotonic clock in seconds.
        url: The server's URL, as dialled (named in ``Connected``).
    """

    def __init__(
        self,
        ws: WebSocket,
        core: ClientConnection,
        desired: DesiredState,
        emit: Emit,
        clock: Callable[[], float],
        url: str,
    ) -> None:
        self._ws = ws
        self._url = url
        self._core = core
        self._desired = desired
        self._emit = emit
        self._clock = clock
        self._ops: deque[Op] = deque()
        self._wake = asyncio.Event()
        self._waiters: dict[int, RequestOp | MailboxOp] = {}
        self._sent: dict[bytes, bytes] = {}  # publish token -> payload the server has
        self._publishing: dict[int, tuple[bytes, ...]] = {}  # ref -> publish tokens
        self._bucket: TokenBucket | None = None
        self._ending: Ending | None = None
        self._authenticated = False

    @property
    def ready(self) -> bool:
        """Authenticated and open: requests may be queued."""
        return self._authenticated and self._core.state is ClientState.READY

    @property
    def max_payload(self) -> int | None:
        """The server's payload limit, once known."""
        limits = self._core.limits
        return None if limits is None else limits.max_payload_bytes

    @property
    def turn(self) -> tuple[wire.TurnServer, ...]:
        """The TURN relays and credentials this server handed over."""
        return self._core.turn

    def enqueue(self, op: Op) -> None:
        """Queue a request; it is sent in order, paced under the rate limit
        (lists of topics in chunks, see :func:`~kith.signaling.ops.chunked`)."""
        self._ops.extend(chunked(op))
        self._wake.set()

    async def serve(self, auth_timeout: float) -> Ending:
        """Run the connection until it closes; never raises for network errors."""
        writer = asyncio.create_task(self._write())
        try:
            await self._read(auth_timeout)
        finally:
            await cancel_and_wait(writer)
            self._fail_pending()
        return self._finish()

    async def close(self) -> None:
        """Close the WebSocket cleanly (code 1000)."""
        await self._ws.close()

    # -- reading --

    async def _read(self, auth_timeout: float) -> None:
        try:
            async with asyncio.timeout(auth_timeout) as deadline:
                async for data in self._ws:
                    self._receive(data)
                    if self._authenticated:
                        deadline.reschedule(None)
                    if self._core.state is ClientState.CLOSED:
                        break
        except TimeoutError:
            self._end("auth_timeout", True, "no welcome in time")
        except ConnectionClosed:
            pass
        if self._ending is not None:
            await self._ws.close()

    def _receive(self, data: str | bytes) -> None:
        for event in self._core.receive(data, self._clock()):
            self._on_event(event)
        self._wake.set()

    def _on_event(self, event: core_events.ClientEvent) -> None:
        match event:
            case core_events.Authenticated(limits=limits):
                self._on_authenticated(limits)
            case core_events.SubscriptionConfirmed(retained=retained):
                for topic, payload in retained:
                    self._deliver(PresenceValue(topic, payload))
            case core_events.RequestAcked(ref=ref):
                self._resolve(ref, None)
            case core_events.ServerError(code=code, message=message, ref=ref):
                self._resolve(ref, (code, message))
            case core_events.MailboxFetched(ref=ref, items=items, more=more):
                self._fetched(ref, MailboxBatch(items, more))
            case _:
                self._on_other(event)

    def _on_other(self, event: core_events.ClientEvent) -> None:
        match event:
            case core_events.TopicValue(topic=topic, payload=payload):
                self._deliver(PresenceValue(topic, payload))
            case core_events.TopicGone(topic=topic):
                self._deliver(PresenceGone(topic))
            case core_events.RelayReceived(topic=topic, payload=payload):
                self._deliver(RelayMessage(topic, payload))
            case core_events.IntroductionReceived(topic=topic, payload=payload):
                self._deliver(IntroMessage(topic, payload))
            case core_events.AuthenticationFailed(code=code, message=message, retryable=again):
                self._end("auth_failed", again, f"{code}: {message}")
            case core_events.ServerGoodbye(code=code, message=message, reconnect=again):
                self._end(code, again, message)
            case core_events.ServerProtocolViolation(detail=detail):
                self._emit(ServerProblem("protocol_violation", detail))
                self._end("protocol_violation", True, detail)

    def _on_authenticated(self, limits: wire.Limits) -> None:
        self._authenticated = True
        rate = limits.rate * PACE_SAFETY
        self._bucket = TokenBucket(rate, max(1, limits.burst - 2), self._clock())
        subscriptions = tuple(sorted(self._desired.subscriptions))
        if subscriptions:
            self.enqueue(SubscribeOp(subscriptions))
        for token in self._desired.publications:
            self.enqueue(PublishOp(token))
        self._emit(Connected(self._url))

    def _deliver(self, event: PresenceValue | PresenceGone | RelayMessage | IntroMessage) -> None:
        if self._desired.is_subscribed(event.topic):
            self._emit(event)

    def _resolve(self, ref: int | None, error: tuple[str, str] | None) -> None:
        if ref is None:
            if error is not None:
                self._emit(ServerProblem(*error))
            return
        tokens = self._publishing.pop(ref, None)
        if tokens is not None:
            self._publish_answered(tokens, error)
            return
        op = self._waiters.pop(ref, None)
        if op is None:
            if error is not None:
                self._emit(ServerProblem(*error))
            return
        if op.future.done():
            return
        if error is None:
            op.future.set_result(None)
        else:
            op.future.set_exception(refusal(op.kind, *error))

    def _fetched(self, ref: int | None, batch: MailboxBatch) -> None:
        op = self._waiters.pop(ref, None) if ref is not None else None
        if isinstance(op, MailboxOp) and not op.future.done():
            op.future.set_result(batch)

    def _publish_answered(self, tokens: tuple[bytes, ...], error: tuple[str, str] | None) -> None:
        if error is None:
            return
        # The server kept none of them: forget they were sent, so they go out again.
        for token in tokens:
            self._sent.pop(token, None)
        self._emit(ServerProblem(*error))
        if error[0] == wire.ErrorCode.RATE_LIMITED:
            for token in tokens:
                self.enqueue(PublishOp(token))

    def _end(self, reason: str, reconnect: bool, detail: str) -> None:
        if self._ending is None:
            self._ending = Ending(reason, reconnect, self._authenticated, detail)

    def _finish(self) -> Ending:
        code, reason = self._ws.close_code, self._ws.close_reason or ""
        (closed,) = self._core.connection_closed(code, reason)
        assert isinstance(closed, core_events.Disconnected)
        if self._ending is not None:
            return self._ending
        if code == wire.CloseCode.REPLACED:
            return Ending("replaced", False, self._authenticated, reason)
        if code == wire.CloseCode.SERVICE_RESTART:
            return Ending("shutting_down", True, self._authenticated, reason)
        if self._heartbeat_missed():
            return Ending("heartbeat_timeout", True, self._authenticated, "no pong in time")
        detail = f"close code {code}" + (f" ({reason})" if reason else "")
        return Ending("connection_lost", closed.reconnect, self._authenticated, detail)

    def _heartbeat_missed(self) -> bool:
        sent, received = self._ws.protocol.close_sent, self._ws.protocol.close_rcvd
        return received is None and sent is not None and sent.code == _HEARTBEAT_CLOSE

    # -- writing --

    async def _write(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self._flush()
                await self._drain()
        except ConnectionClosed:
            return
        except Exception:
            # Our bug: end the connection so the reader stops too, then surface it.
            await self._ws.close(wire.CloseCode.INTERNAL_ERROR, "client error")
            raise

    async def _drain(self) -> None:
        while self._ops and self.ready:
            if isinstance(self._ops[0], PublishOp) and self._batch_size() > 1:
                await self._publish_batch()
            else:
                await self._pace()
                if not self.ready:  # the server closed while we waited for a token
                    return
                self._apply(self._ops.popleft())
            await self._flush()

    # -- batched publishes --

    def _batch_size(self) -> int:
        limits, bucket = self._core.limits, self._bucket
        if limits is None or bucket is None:
            return 0
        return batch_size(limits.max_batch, limits.batch_items_per_token, bucket.capacity)

    async def _publish_batch(self) -> None:
        """Send the publishes at the head of the queue as one frame (or a few)."""
        pending = self._take_publishes()
        limits = self._core.limits
        assert limits is not None
        while pending and self.ready:
            batch, pending = split_batch(pending, self._batch_size(), limits.max_frame_bytes)
            await self._pace(batch_cost(len(batch), limits.batch_items_per_token))
            if not self.ready:
                return
            self._send_publishes([t for t, _ in batch])
            await self._flush()

    def _take_publishes(self) -> list[tuple[bytes, bytes]]:
        """Pop the consecutive publishes at the head of the queue; keep those
        whose latest value the server does not have yet (each token once)."""
        items: dict[bytes, bytes] = {}
        while self._ops and isinstance(self._ops[0], PublishOp):
            token = self._ops.popleft().token  # type: ignore[union-attr]
            payload = self._desired.payload(token)
            if payload is not None and self._sent.get(token) != payload:
                items[token] = payload
        return list(items.items())

    def _send_publishes(self, tokens: list[bytes]) -> None:
        """Publish the latest values of ``tokens`` (read now) in one frame."""
        items = [(t, p) for t in tokens if (p := self._desired.payload(t)) is not None]
        if len(items) <= 1:
            for token, _ in items:
                self._publish(token)
            return
        try:
            ref = self._core.publish_batch(items)
        except PayloadTooLargeError:  # limits changed: let each item say which
            for token, _ in items:
                self._publish(token)
            return
        for token, payload in items:
            self._sent[token] = payload
        self._publishing[ref] = tuple(token for token, _ in items)

    async def _flush(self) -> None:
        for frame in self._core.data_to_send():
            await self._ws.send(frame)

    async def _pace(self, cost: int = 1) -> None:
        bucket = self._bucket
        assert bucket is not None
        # Waiting for time to pass (tokens to refill), not for an event.
        while not bucket.take(self._clock(), cost):  # noqa: ASYNC110
            await asyncio.sleep(1.0 / bucket.rate)

    def _apply(self, op: Op) -> None:
        core = self._core
        match op:
            case SubscribeOp(topics=topics, add=True):
                core.subscribe(topics)
            case SubscribeOp(topics=topics):
                core.unsubscribe(topics)
            case RetractOp(tokens=tokens):
                core.retract(tokens)
                for token in tokens:
                    self._sent.pop(token, None)
            case PublishOp(token=token):
                self._publish(token)
            case RequestOp():
                self._request(op)
            case MailboxOp():
                self._mailbox(op)

    def _publish(self, token: bytes) -> None:
        payload = self._desired.payload(token)
        if payload is None or self._sent.get(token) == payload:
            return
        try:
            ref = self._core.publish(token, payload)
        except PayloadTooLargeError as exc:
            self._emit(ServerProblem(wire.ErrorCode.PAYLOAD_TOO_LARGE, str(exc)))
            return
        self._sent[token] = payload
        self._publishing[ref] = (token,)

    def _request(self, op: RequestOp) -> None:
        if op.future.done():
            return
        send = self._core.relay if op.kind == "relay" else self._core.intro
        try:
            ref = send(op.topic, op.payload)
        except PayloadTooLargeError as exc:
            op.future.set_exception(PayloadTooLarge(str(exc)))
            return
        self._waiters[ref] = op

    def _mailbox(self, op: MailboxOp) -> None:
        if op.future.done():
            return
        core = self._core
        try:
            if op.kind == "deposit":
                ref = core.mailbox_deposit(op.key, op.item)
            elif op.kind == "fetch":
                ref = core.mailbox_fetch(op.key)
            else:
                ref = core.mailbox_ack(op.key, op.ids)
        except PayloadTooLargeError as exc:
            op.future.set_exception(PayloadTooLarge(str(exc)))
            return
        self._waiters[ref] = op

    def _fail_pending(self) -> None:
        queued = (op for op in self._ops if isinstance(op, RequestOp | MailboxOp))
        pending = [*self._waiters.values(), *queued]
        self._waiters.clear()
        self._ops.clear()
        for op in pending:
            if not op.future.done():
                op.future.set_exception(NotConnected("the connection closed before the reply"))
