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
from redis.exceptions import RedisError

from kith_signal.logfmt import log_event
from kith_signal.metrics import Metrics

__all__ = ["CHUNK", "Shard", "ShardUnavailable"]

SOCKET_TIMEOUT = 2.0
BARRIER_TIMEOUT = 2.0
RETRY_MIN, RETRY_MAX = 0.1, 2.0
CHUNK = 1000  # keys or channels per command when a shard is rebuilt


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
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry_on_timeout=False,
        )
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
        delay = RETRY_MIN
        while True:
            self._became_up = False
            try:
                await self._serve()
            except (RedisError, OSError, TimeoutError, ShardUnavailable) as exc:
                self.fail(exc)
            self._set_down()
            await self._close_pubsub()
            delay = RETRY_MIN if self._became_up else min(RETRY_MAX, delay * 2)
            await asyncio.sleep(delay)  # backoff between reconnection attempts

    async def _serve(self) -> None:
        self._failed.clear()
        pubsub = self.client.pubsub()
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
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await reader

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
        """:meth:`execute` without the health check (for ``on_ready``)."""
        commands = len(pipe)
        if not commands:
            return []
        started = time.perf_counter()
        try:
            replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            self.fail(exc)
            raise ShardUnavailable(self.reason) from None
        self._metrics.redis_seconds.observe(time.perf_counter() - started)
        self._metrics.redis_commands.labels(op).inc(commands)
        return list(replies)

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

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._close_pubsub()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
