"""One Redis instance of the cluster: its clients, pub/sub reader and health.

A :class:`Shard` keeps a command client and one pub/sub connection. Its
:meth:`Shard.run` task connects, subscribes this process's channels, lets the
broker bring Redis up to date (``on_ready``), then reads messages until the
connection fails; then it logs, reports itself down and tries again with a
bounded backoff. While a shard is down every operation on it is skipped
(never awaited on a dead socket): the broker keeps serving the connections of
its own process and rebuilds Redis's view when the shard is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline, PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from kith_proto.tasks import cancel_and_wait
from kith_signal.logfmt import log_event
from kith_signal.metrics import Metrics

__all__ = ["CHUNK", "Shard", "ShardUnavailable"]

# Generous: on a busy event loop a timer also counts the time the loop spent
# elsewhere, and a timeout costs a full rebuild. A refused or reset connection
# is noticed at once anyway; only a hung Redis waits this long.
SOCKET_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0
BARRIER_TIMEOUT = SOCKET_TIMEOUT
RETRY_MIN, RETRY_MAX = 0.1, 2.0
CHUNK = 1000  # keys or channels per command when a shard is rebuilt
POOL_SIZE = 4  # command connections per shard and process (one writes, others scan)
MAX_COALESCED = 5_000  # commands sent in one round trip at most


class ShardUnavailable(Exception):
    """The shard is down: the operation was skipped."""


class Shard:
    """One Redis instance.

    Args:
        index: Its position in ``--redis`` (logs name shards by index, never URL:
            a URL may carry a password).
        url: ``redis://HOST:PORT/DB``.
        notice_channel: This process's own channel, always subscribed.
        on_message: Called with ``(channel, data)`` of every published message.
        channels: The topic channels this process needs on this shard now.
        on_ready: Brings Redis up to date after each (re)connection, once the
            channels are subscribed (so nothing published meanwhile is missed).
        metrics: Round-trip latency, commands, health.
        log: Structured logger.
    """

    def __init__(
        self,
        index: int,
        url: str,
        *,
        notice_channel: bytes,
        on_message: Callable[[bytes, bytes], None],
        channels: Callable[[Shard], Iterable[bytes]],
        on_ready: Callable[[Shard], Awaitable[None]],
        metrics: Metrics,
        log: logging.Logger,
    ) -> None:
        self.index = index
        # Commands share a bounded pool: a burst of requests waits for a
        # connection rather than opening hundreds (or failing).
        options: dict[str, Any] = {
            "socket_timeout": SOCKET_TIMEOUT,
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "retry": Retry(NoBackoff(), 0),  # a pipeline retried could publish twice
        }
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=SOCKET_TIMEOUT, **options
        )
        self.client: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        # The pub/sub connection is held for good: a client of its own.
        self._listener: aioredis.Redis = aioredis.Redis.from_url(url, **options)
        self._queue: list[tuple[Pipeline, str, asyncio.Future[list[Any]]]] = []
        self._queued = asyncio.Event()
        self._notice = notice_channel
        self._on_message = on_message
        self._channels = channels
        self._on_ready = on_ready
        self._metrics = metrics
        self._log = log
        self._pubsub: PubSub | None = None
        self._up = False
        self._became_up = False
        self.reason: str | None = "not connected yet"
        self._failed = asyncio.Event()
        self._pongs: dict[bytes, asyncio.Future[None]] = {}
        self._tokens = itertools.count()
        metrics.redis_up.labels(str(index)).set(0)

    @property
    def up(self) -> bool:
        return self._up

    async def run(self) -> None:
        """Connect, serve, reconnect: until cancelled."""
        writer = asyncio.create_task(self._write())
        try:
            await self._supervise()
        finally:
            await cancel_and_wait(writer)

    async def _supervise(self) -> None:
        delay = RETRY_MIN
        while True:
            self._became_up = False
            try:
                await self._serve()
            except (RedisError, OSError, TimeoutError, ShardUnavailable) as exc:
                self.fail(exc)
            self._set_down()
            await self._close_pubsub()
            await self._drop_connections()
            delay = RETRY_MIN if self._became_up else min(RETRY_MAX, delay * 2)
            await asyncio.sleep(delay)  # backoff between reconnection attempts

    async def _serve(self) -> None:
        self._failed.clear()
        pubsub = self._listener.pubsub()
        await pubsub.subscribe(self._notice)
        self._pubsub = pubsub  # from now on, new local subscriptions reach Redis too
        reader = asyncio.create_task(self._read(pubsub))
        try:
            await self._timed_ping()
            channels = list(self._channels(self))
            for start in range(0, len(channels), CHUNK):
                await pubsub.subscribe(*channels[start : start + CHUNK])
            await self._barrier(pubsub)
            await self._on_ready(self)
            self._up = self._became_up = True
            self.reason = None
            self._metrics.redis_up.labels(str(self.index)).set(1)
            log_event(self._log, "redis_up", shard=self.index, channels=len(channels))
            failed = asyncio.create_task(self._failed.wait())
            done, _ = await asyncio.wait({reader, failed}, return_when=asyncio.FIRST_COMPLETED)
            failed.cancel()
            if reader in done:
                reader.result()  # raises what ended the reader
        finally:
            # The reader's end may take a while (redis-py closes the socket); a
            # stop of the shard meanwhile must end the loop, not be swallowed.
            await cancel_and_wait(reader)

    async def _read(self, pubsub: PubSub) -> None:
        async for message in pubsub.listen():
            kind = message["type"]
            if kind == "message":
                self._on_message(message["channel"], message["data"])
            elif kind == "pong":
                waiter = self._pongs.pop(message["data"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def _barrier(self, pubsub: PubSub) -> None:
        """Wait until Redis has applied what was sent on the pub/sub connection."""
        token = b"barrier-%d" % next(self._tokens)
        waiter = self._pongs[token] = asyncio.get_running_loop().create_future()
        try:
            await pubsub.ping(token)
            async with asyncio.timeout(BARRIER_TIMEOUT):
                await waiter
        finally:
            self._pongs.pop(token, None)

    async def _timed_ping(self) -> None:
        started = time.perf_counter()
        await self.client.ping()
        self._metrics.redis_seconds.observe(time.perf_counter() - started)

    async def subscribe(self, channels: list[bytes]) -> None:
        """Subscribe, and return once Redis has applied it (skipped when down)."""
        pubsub = self._pubsub
        if pubsub is None or not channels:
            return
        try:
            await pubsub.subscribe(*channels)
            await self._barrier(pubsub)
        except (RedisError, OSError, TimeoutError) as exc:
            self.fail(exc)

    async def unsubscribe(self, channels: list[bytes]) -> None:
        pubsub = self._pubsub
        if pubsub is None or not channels:
            return
        try:
            await pubsub.unsubscribe(*channels)
        except (RedisError, OSError) as exc:
            self.fail(exc)

    def pipeline(self) -> Pipeline:
        return self.client.pipeline(transaction=False)

    async def execute(self, pipe: Pipeline, op: str) -> list[Any]:
        """Run a pipeline, timing the round trip and counting its commands.

        Raises:
            ShardUnavailable: The shard is down, or failed now (it is marked
                down and will rebuild).
        """
        if not self._up:
            raise ShardUnavailable(self.reason)
        return await self.execute_anyway(pipe, op)

    async def execute_anyway(self, pipe: Pipeline, op: str) -> list[Any]:
        """:meth:`execute` without the health check (for ``on_ready``).

        Pipelines are not sent one by one: every pipeline queued while the
        previous round trip was in flight goes out in the next one, in
        order (auto-pipelining), so a burst of requests costs a few round
        trips and one connection, and Redis applies them in the order made.
        """
        if not len(pipe):
            return []
        waiter: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((pipe, op, waiter))
        self._queued.set()
        replies = await waiter
        for reply in replies:
            if isinstance(reply, Exception):
                raise ShardUnavailable(f"{type(reply).__name__}: {reply}"[:200])
        return replies

    async def execute_now(self, pipe: Pipeline, op: str) -> list[Any]:
        """Run a pipeline at once on a connection of its own, ahead of the
        queue: for the liveness key, which a backlog must not delay."""
        started = time.perf_counter()
        try:
            replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            self.fail(exc)
            raise ShardUnavailable(self.reason) from None
        self._metrics.redis_seconds.observe(time.perf_counter() - started)
        self._metrics.redis_commands.labels(op).inc(len(pipe))
        return list(replies)

    async def _write(self) -> None:
        """Send the queued pipelines, merged, one round trip at a time."""
        while True:
            await self._queued.wait()
            self._queued.clear()
            while self._queue:
                count = size = 0
                for pipe, _, _ in self._queue:
                    count += 1
                    size += len(pipe)
                    if size >= MAX_COALESCED:
                        break
                batch, self._queue = self._queue[:count], self._queue[count:]
                await self._send(batch)

    async def _send(self, batch: list[tuple[Pipeline, str, asyncio.Future[list[Any]]]]) -> None:
        merged = self.client.pipeline(transaction=False)
        for pipe, op, _ in batch:
            merged.command_stack.extend(pipe.command_stack)
            merged.scripts.update(pipe.scripts)
            self._metrics.redis_commands.labels(op).inc(len(pipe))
        started = time.perf_counter()
        try:
            replies = await merged.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            self.fail(exc)
            for _, _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(ShardUnavailable(self.reason))
            return
        self._metrics.redis_seconds.observe(time.perf_counter() - started)
        offset = 0
        for pipe, _, waiter in batch:
            end = offset + len(pipe)
            if not waiter.done():
                waiter.set_result(list(replies[offset:end]))
            offset = end

    def fail(self, exc: BaseException) -> None:
        """Mark the shard down (once per outage is logged as an error)."""
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if self._up or self.reason != reason:
            log_event(self._log, "redis_error", logging.ERROR, shard=self.index, reason=reason)
            self._metrics.redis_errors.labels(str(self.index)).inc()
        self.reason = reason
        self._set_down()
        self._failed.set()

    def _set_down(self) -> None:
        if self._up:
            log_event(self._log, "redis_down", logging.ERROR, shard=self.index)
        self._up = False
        self._metrics.redis_up.labels(str(self.index)).set(0)
        if self.reason is None:
            self.reason = "connection lost"

    async def _drop_connections(self) -> None:
        """Close the idle pooled command connections. One opened before Redis went
        away still looks usable to the pool (a socket the server closed reads as
        idle), so the first commands after Redis came back failed on such
        connections and marked the shard down again. Closed ones reconnect when
        next taken. Connections in use are left to their commands: closing them
        failed the rebuild running on them, again and again (a failed command
        closes its own connection anyway)."""
        with contextlib.suppress(RedisError, OSError):
            await self.client.connection_pool.disconnect(inuse_connections=False)

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        """Release the connections (after :meth:`run` was cancelled)."""
        self._up = False
        for _, _, waiter in self._queue:
            waiter.cancel()
        self._queue.clear()
        await self._close_pubsub()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
            await self._listener.aclose()
