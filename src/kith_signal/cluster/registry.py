"""Process liveness: each process keeps a TTL'd key on every shard; when one
stops refreshing it (kill -9, a lost machine), one survivor reaps it.

Reaping a dead process announces ``gone`` on every topic it still held and
drops its logins, on each shard separately; a ``SET NX`` lock makes sure one
survivor does it. The bound: a process refreshes its key every ``interval``
seconds with a ``ttl``; after it dies the key expires within ``ttl`` and a
survivor notices within one more ``interval``, so its users' contacts see
them offline within ``ttl + interval`` (20 s with the defaults, 15 + 5).

The refresh goes ahead of the shard's queue of commands (a backlog must not
delay it). A process so starved that its key expired anyway learns at its
next refresh whether a survivor started reaping it (the lock is there); if
so it rebuilds the shard, as after an outage (and a reaping stops, script by
script, as soon as the key is back); if not, nothing was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from kith_signal.cluster.keyspace import (
    PROCESSES,
    conn_prefix,
    held_key,
    logins_key,
    process_key,
    reap_key,
)
from kith_signal.cluster.shard import CHUNK, Shard, ShardUnavailable
from kith_signal.logfmt import log_event

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_TTL", "ProcessKeyExpired", "ProcessRegistry"]

DEFAULT_TTL = 15.0
DEFAULT_INTERVAL = 5.0
REAP_LOCK_SECONDS = 60.0
LATE_REFRESH = 1.0  # seconds a refresh may be late before it is logged


class ProcessKeyExpired(Exception):
    """This process's liveness key expired while it ran (it was starved)."""


class ProcessRegistry:
    """Registers this process and reaps dead ones.

    Args:
        process: This process's id.
        ttl: Seconds the liveness key lives without a refresh.
        interval: Seconds between refreshes (and between checks of the others).
        gone: The ``GONE`` script; ``unlogin``: the ``UNLOGIN`` script;
            ``forget``: the ``FORGET`` script.
        log: Structured logger.
    """

    def __init__(
        self,
        process: str,
        *,
        ttl: float,
        interval: float,
        gone: AsyncScript,
        unlogin: AsyncScript,
        forget: AsyncScript,
        log: logging.Logger,
    ) -> None:
        if interval >= ttl:
            raise ValueError("the refresh interval must be shorter than the TTL")
        self.process = process
        self.ttl = ttl
        self.interval = interval
        self._gone = gone
        self._unlogin = unlogin
        self._forget = forget
        self._log = log

    async def refresh(self, shard: Shard) -> bool:
        """Refresh this process's liveness key on ``shard``, at once.

        Returns:
            False when this process may have been reaped: its key had expired
            and a survivor has taken the reaping lock. (A survivor that takes
            the lock after this refresh finds the key back and stops.)
        """
        pipe = shard.client.pipeline(transaction=False)
        pipe.set(process_key(self.process), b"1", px=int(self.ttl * 1000), get=True)
        pipe.sadd(PROCESSES, self.process)
        pipe.exists(reap_key(self.process))
        previous, _, locked = await shard.execute_now(pipe, "register")
        return previous is not None or not locked

    async def forget_reaping(self, shard: Shard) -> None:
        """Drop the reaping lock on this process (it is rebuilding its state)."""
        pipe = shard.client.pipeline(transaction=False)
        pipe.delete(reap_key(self.process))
        await shard.execute_now(pipe, "register")

    def unregister(self, pipe: Pipeline) -> None:
        """Queue the removal of this process's keys (a clean shutdown: queued,
        so it follows the ``gone`` of its last connections)."""
        pipe.delete(process_key(self.process), held_key(self.process), logins_key(self.process))
        pipe.srem(PROCESSES, self.process)

    async def run(self, shards: Sequence[Shard]) -> None:
        """Refresh, and reap, every ``interval`` seconds, until cancelled (two
        loops: a long reaping never delays this process's own refresh)."""
        await asyncio.gather(self._refresh_loop(shards), self._reap_loop(shards))

    async def _refresh_loop(self, shards: Sequence[Shard]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)  # the heartbeat's period
            late = loop.time() - due
            if late > LATE_REFRESH:
                log_event(self._log, "refresh_late", logging.WARNING, seconds=round(late, 2))
            for shard in shards:
                # Also while a shard is being rebuilt (not up yet): a rebuild
                # longer than the TTL must not get this process reaped.
                with contextlib.suppress(ShardUnavailable):
                    if not await self.refresh(shard) and shard.up:
                        log_event(self._log, "reaped_while_alive", logging.ERROR, shard=shard.index)
                        shard.fail(ProcessKeyExpired("reaped while alive: rebuilding"))

    async def _reap_loop(self, shards: Sequence[Shard]) -> None:
        while True:
            await asyncio.sleep(self.interval)  # the period of the checks
            for shard in shards:
                if not shard.up:
                    continue
                try:
                    await self.reap(shard)
                except ShardUnavailable:
                    continue
                except (RedisError, OSError) as exc:
                    shard.fail(exc)

    async def reap(self, shard: Shard) -> list[str]:
        """Reap the processes whose liveness key expired; return their ids."""
        pipe = shard.pipeline()
        pipe.smembers(PROCESSES)
        (members,) = await shard.execute(pipe, "reap")
        others = sorted(m.decode() for m in members if m.decode() != self.process)
        if not others:
            return []
        pipe = shard.pipeline()
        for other in others:
            pipe.exists(process_key(other))
        alive = await shard.execute(pipe, "reap")
        reaped = []
        for other, exists in zip(others, alive, strict=True):
            if exists:
                continue
            pipe = shard.pipeline()
            pipe.set(reap_key(other), self.process, nx=True, px=int(REAP_LOCK_SECONDS * 1000))
            (locked,) = await shard.execute(pipe, "reap")
            if locked:
                await self._reap(shard, other)
                reaped.append(other)
        return reaped

    async def _reap(self, shard: Shard, dead: str) -> None:
        origin, alive = conn_prefix(dead), process_key(dead)
        values = logins = 0
        held = [item for pair in await _pairs(shard, held_key(dead)) for item in pair]
        for start in range(0, len(held), 2 * CHUNK):
            pipe = shard.pipeline()
            chunk = held[start : start + 2 * CHUNK]
            await self._gone(keys=[held_key(dead), alive], args=[origin, *chunk], client=pipe)
            (gone,) = await shard.execute(pipe, "reap")
            if gone < 0:
                self._came_back(shard, dead)
                return
            values += gone
        tags = [item for pair in await _pairs(shard, logins_key(dead)) for item in pair]
        for start in range(0, len(tags), 2 * CHUNK):
            pipe = shard.pipeline()
            chunk = tags[start : start + 2 * CHUNK]
            await self._unlogin(keys=[logins_key(dead), alive], args=chunk, client=pipe)
            (dropped,) = await shard.execute(pipe, "reap")
            if dropped < 0:
                self._came_back(shard, dead)
                return
            logins += dropped
        pipe = shard.pipeline()
        await self._forget(keys=[alive, held_key(dead), logins_key(dead)], args=[dead], client=pipe)
        await shard.execute(pipe, "reap")
        log_event(
            self._log, "reaped_process", shard=shard.index, process=dead, gone=values, logins=logins
        )

    def _came_back(self, shard: Shard, process: str) -> None:
        log_event(self._log, "reaping_stopped", shard=shard.index, process=process)


async def _pairs(shard: Shard, key: bytes) -> list[tuple[bytes, bytes]]:
    return [pair async for pair in shard.client.hscan_iter(key, count=CHUNK)]
