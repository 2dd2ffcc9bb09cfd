"""The node's signaling client: connect, authenticate, stay connected.

:class:`SignalingClient` is the asyncio edge around the sans-I/O core
(:mod:`kith_proto.client_core`). It keeps the node's *desired* state
(subscriptions, the latest publication per topic) so that calls never wait
for the network: while connected, changes go out at once; after every
reconnect, the whole state is applied again. Every lost connection and
every failed attempt, a refused authentication included (the server may be
restarted with the right ``--public-url``), is retried with exponential
backoff and full jitter, on the next of the servers it knows (a cluster's
processes, tried in a shuffled order: :mod:`kith.signaling.dial_order`);
only a newer login of the same identity elsewhere
(``replaced``) ends the client, so that two logins never fight.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

from websockets.asyncio.client import ClientConnection as WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from kith.signaling.backoff import BackoffPolicy
from kith.signaling.connection import (
    Ending,
    PublishOp,
    RequestOp,
    RetractOp,
    ServerConnection,
    SubscribeOp,
)
from kith.signaling.desired import DesiredState, check_topic
from kith.signaling.dial_order import DialOrder, Shuffler
from kith.signaling.errors import NotConnected, PayloadTooLarge, ReplyTimeout
from kith.signaling.events import (
    Connected,
    ConnectionState,
    Disconnected,
    SignalingEvent,
)
from kith.signaling.ops import MailboxBatch, MailboxOp
from kith_proto import wire
from kith_proto.client_core import ClientConnection
from kith_proto.keys import IdentityKeys

__all__ = ["EventStream", "SignalingClient"]

T = TypeVar("T")

FINAL_REASONS: Final = frozenset({"replaced"})
"""Endings after which the client stops instead of retrying."""

MAX_INBOUND_FRAME: Final = 16 * 2**20
CLOSE_TIMEOUT: Final = 2.0


class EventStream:
    """Async iterator over a client's events; ends after ``close()``."""

    def __init__(self, queue: asyncio.Queue[SignalingEvent | None]) -> None:
        self._queue = queue

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> SignalingEvent:
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)
            raise StopAsyncIteration
        return event


class SignalingClient:
    """A persistent, self-healing connection to a ``kith-signal`` server.

    Events are read with ``async for event in client.events()`` by one
    consumer; they are queued (unbounded) until read.

    Args:
        keys: The identity that authenticates.
        url: The server's URL (``ws://`` or ``wss://``), exactly as the server
            announces it: the signature binds it. Or several (the processes
            of a cluster): each attempt dials the next in a shuffled order.
        policy: Reconnect backoff (default: 0.5 s base, 30 s cap, full jitter).
        heartbeat_interval: Seconds between our pings.
        heartbeat_timeout: Seconds without a pong before the connection is
            declared dead.
        open_timeout: Bound on TCP + TLS + WebSocket handshake, and again on
            the authentication that follows.
        ssl_context: TLS settings for ``wss://`` (default: system trust store).
        clock: Monotonic clock in seconds.
        shuffler: Where the order of several URLs comes from.

    Raises:
        ValueError: No URL, a URL that is not a WebSocket URL (the message
            names it), or ``ssl_context`` with a ``ws://`` URL.
    """

    def __init__(
        self,
        keys: IdentityKeys,
        url: str | Sequence[str],
        *,
        policy: BackoffPolicy | None = None,
        heartbeat_interval: float = 10.0,
        heartbeat_timeout: float = 10.0,
        open_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        shuffler: Shuffler | None = None,
    ) -> None:
        urls = [url] if isinstance(url, str) else list(url)
        try:
            secure = [parse_uri(u).secure for u in urls]
        except InvalidURI as exc:
            raise ValueError(str(exc)) from None  # names the bad URL
        if ssl_context is not None and not all(secure):
            raise ValueError("ssl_context needs wss:// URLs")
        if min(heartbeat_interval, heartbeat_timeout, open_timeout) <= 0:
            raise ValueError("timeouts must be > 0")
        self._keys = keys
        self._order = DialOrder(urls, shuffler or random.Random())
        self._policy = policy or BackoffPolicy()
        self._heartbeat = (heartbeat_interval, heartbeat_timeout)
        self._open_timeout = open_timeout
        self._ssl = ssl_context
        self._clock = clock
        self._desired = DesiredState()
        self._state = ConnectionState.DISCONNECTED
        self._link: ServerConnection | None = None
        self._max_payload: int | None = None
        self._turn: tuple[wire.TurnServer, ...] = ()
        self._events: asyncio.Queue[SignalingEvent | None] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._close_requested = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopped.set()
        self._running = False

    # -- state and events --

    @property
    def state(self) -> ConnectionState:
        """Whether the client is disconnected, connecting or connected."""
        return self._state

    @property
    def url(self) -> str:
        """The server being dialled or connected to (or the next one to dial)."""
        return self._order.current

    def events(self) -> EventStream:
        """The event stream: ``async for event in client.events()``.

        One consumer only (every stream reads the same queue). Cancelling a
        wait on it (``asyncio.timeout``, ``wait_for``) loses nothing, unlike
        an async generator. It ends after :meth:`close`.
        """
        return EventStream(self._events)

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109
        """Return once connected; raise ``TimeoutError`` after ``timeout`` s."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    # -- desired state (never blocks) --

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        """Make ``topics`` the subscription set; applied now if connected."""
        change = self._desired.set_subscriptions(topics)
        link = self._ready_link()
        if link is None:
            return
        if change.removed:
            link.enqueue(SubscribeOp(change.removed, add=False))
        if change.added:
            link.enqueue(SubscribeOp(change.added))

    def publish(self, token: bytes, payload: bytes) -> None:
        """Set the value of the topic ``token`` opens (``wire.token_topic``);
        kept and re-published after every reconnect.

        Args:
            token: The 32-byte publish token (a secret: never logged).
            payload: The value.

        Raises:
            PayloadTooLarge: Beyond the limit the server announced.
        """
        self._check_payload(payload)
        self._desired.publish(token, payload)
        link = self._ready_link()
        if link is not None:
            link.enqueue(PublishOp(token))

    def retract(self, tokens: Iterable[bytes]) -> None:
        """Forget the publications made with ``tokens``; subscribers get
        ``gone`` if we are connected."""
        checked = self._desired.retract(tokens)
        link = self._ready_link()
        if link is not None and checked:
            link.enqueue(RetractOp(checked))

    # -- requests that need a reply --

    async def relay(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Relay ``payload`` to whoever subscribes to ``topic``.

        Raises:
            NotConnected: Not connected, or the connection dropped first.
            PeerOffline: Nobody subscribes to ``topic``.
            RelayRefused: Another refusal (e.g. ``rate_limited``).
            ReplyTimeout: No reply within ``timeout`` seconds.
            PayloadTooLarge: Beyond the limit the server announced.
        """
        await self._request("relay", topic, payload, timeout)

    async def intro(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Send a contact request to an intro topic.

        The server acknowledges every intro the same way, whether or not
        someone listens, so success says nothing about the recipient.

        Raises:
            NotConnected, IntroRefused, ReplyTimeout, PayloadTooLarge.
        """
        await self._request("intro", topic, payload, timeout)

    # -- the sealed mailbox (docs/p2p.md, "Offline mailbox") --

    async def mailbox_deposit(self, topic: bytes, item: bytes, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Leave a sealed item in the mailbox ``topic``; returns once the
        server has stored it.

        Raises:
            NotConnected, ReplyTimeout, PayloadTooLarge.
            MailboxRefused: ``mailbox_full``, ``mailbox_store_full``,
                ``mailbox_unavailable``, a size that is not a bucket, ...
        """
        check_topic(topic)
        self._check_payload(item)
        await self._mailbox(MailboxOp("deposit", topic, self._future(), item=bytes(item)), timeout)

    async def mailbox_fetch(self, token: bytes, timeout: float = 10.0) -> MailboxBatch:  # noqa: ASYNC109
        """The oldest items of the mailbox that ``token`` (a secret) opens.

        Raises:
            NotConnected, ReplyTimeout.
            MailboxRefused: ``bad_token``, ``mailbox_unavailable``, ...
        """
        check_topic(token)
        batch = await self._mailbox(MailboxOp("fetch", token, self._future()), timeout)
        assert batch is not None
        return batch

    async def mailbox_ack(self, token: bytes, ids: Iterable[int], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Delete fetched items of the mailbox ``token`` opens (we stored them).

        Raises:
            NotConnected, ReplyTimeout, MailboxRefused.
        """
        check_topic(token)
        await self._mailbox(MailboxOp("ack", token, self._future(), ids=tuple(ids)), timeout)

    def _future(self) -> asyncio.Future[MailboxBatch | None]:
        return asyncio.get_running_loop().create_future()

    async def _mailbox(self, op: MailboxOp, timeout: float) -> MailboxBatch | None:  # noqa: ASYNC109
        link = self._ready_link()
        if link is None:
            raise NotConnected(f"cannot {op.kind} mailbox items: not connected")
        link.enqueue(op)
        try:
            async with asyncio.timeout(timeout):
                return await op.future
        except TimeoutError:
            raise ReplyTimeout(f"no reply to mailbox {op.kind} within {timeout} s") from None

    async def _request(self, kind: str, topic: bytes, payload: bytes, timeout: float) -> None:  # noqa: ASYNC109
        check_topic(topic)
        self._check_payload(payload)
        link = self._ready_link()
        if link is None:
            raise NotConnected(f"cannot {kind}: not connected to the signaling server")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        link.enqueue(RequestOp(kind, topic, bytes(payload), future))
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError:
            raise ReplyTimeout(f"no reply to {kind} within {timeout} s") from None

    # -- lifecycle --

    async def run(self) -> None:
        """Connect and stay connected until :meth:`close`, or until the server
        says not to retry (``Disconnected`` with ``retry_in=None``).

        Never raises for network errors; they become ``Disconnected`` events.
        """
        if self._close_requested.is_set():
            return
        if self._running:
            raise RuntimeError("SignalingClient.run() is already running")
        self._running = True
        self._stopped.clear()
        try:
            await self._reconnect_forever()
        finally:
            self._running = False
            self._link = None
            self._set_state(ConnectionState.DISCONNECTED)
            self._stopped.set()

    async def close(self) -> None:
        """Stop :meth:`run`, close the socket cleanly and end :meth:`events`."""
        if self._close_requested.is_set():
            return
        self._close_requested.set()
        link = self._link
        if link is not None:
            await link.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT + self._open_timeout):
                await self._stopped.wait()
        self._events.put_nowait(Disconnected("closed", None))
        self._events.put_nowait(None)

    async def _reconnect_forever(self) -> None:
        attempt = 0
        while not self._close_requested.is_set():
            ending = await self._connect_once()
            if ending is None or self._close_requested.is_set():
                return
            if ending.authenticated:
                attempt = 0
            detail = self._detail(ending)
            self._order.advance()
            if ending.reason in FINAL_REASONS:
                self._emit(Disconnected(ending.reason, None, detail))
                return
            delay = self._policy.delay(attempt)
            attempt += 1
            self._emit(Disconnected(ending.reason, delay, detail))
            await self._until_closed(asyncio.sleep(delay))

    async def _connect_once(self) -> Ending | None:
        self._set_state(ConnectionState.CONNECTING)
        try:
            ws = await self._until_closed(self._open())
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            self._set_state(ConnectionState.DISCONNECTED)
            return Ending("connect_failed", True, False, _describe(exc))
        if ws is None:
            return None
        if self._close_requested.is_set():
            await ws.close()
            return None
        url = self._order.current
        core = ClientConnection(self._keys, url)
        self._link = ServerConnection(ws, core, self._desired, self._emit, self._clock, url)
        try:
            return await self._link.serve(self._open_timeout)
        finally:
            self._max_payload = self._link.max_payload or self._max_payload
            self._turn = self._link.turn or self._turn
            self._link = None
            self._set_state(ConnectionState.DISCONNECTED)

    async def _open(self) -> WebSocket:
        interval, timeout = self._heartbeat
        tls: dict[str, Any] = {} if self._ssl is None else {"ssl": self._ssl}
        async with asyncio.timeout(self._open_timeout):
            return await connect(
                self._order.current,
                subprotocols=[Subprotocol(wire.SUBPROTOCOL)],
                compression=None,
                open_timeout=None,
                ping_interval=interval,
                ping_timeout=timeout,
                # A frozen server never answers our close: give up on it
                # as fast as on a missing pong.
                close_timeout=min(CLOSE_TIMEOUT, timeout),
                max_size=MAX_INBOUND_FRAME,
                **tls,
            )

    async def _until_closed(self, work: Awaitable[T]) -> T | None:
        """Await ``work`` unless :meth:`close` is called first (then None)."""
        task = asyncio.ensure_future(work)
        closing = asyncio.ensure_future(self._close_requested.wait())
        try:
            await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None

    def turn_servers(self) -> tuple[wire.TurnServer, ...]:
        """The TURN relays and credentials of the latest ``welcome`` (none: empty).

        Fresh ones arrive with every connection; between connections the last
        ones stay (they remain valid until their expiry).
        """
        link = self._link
        return (link.turn if link is not None else ()) or self._turn

    # -- helpers --

    def _detail(self, ending: Ending) -> str:
        """The ending's detail; a refused sign-in, or any ending when there
        are several servers, also names the URL we dialled."""
        if ending.reason != "auth_failed" and len(self._order.urls) == 1:
            return ending.detail
        return f"{ending.detail} (we dialled {self._order.current})"

    def _ready_link(self) -> ServerConnection | None:
        link = self._link
        return link if link is not None and link.ready else None

    def _check_payload(self, payload: bytes) -> None:
        link = self._link
        limit = (link.max_payload if link is not None else None) or self._max_payload
        if limit is not None and len(payload) > limit:
            raise PayloadTooLarge(f"payload of {len(payload)} bytes exceeds {limit} bytes")

    def _emit(self, event: SignalingEvent) -> None:
        if isinstance(event, Connected):
            self._set_state(ConnectionState.CONNECTED)
        self._events.put_nowait(event)

    def _set_state(self, state: ConnectionState) -> None:
        self._state = state
        if state is ConnectionState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
