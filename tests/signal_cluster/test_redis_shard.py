"""One shard over a real redis-server that is killed and started again: the
command connections opened before Redis went away must not fail the first
commands after it is back (the pool takes a socket the server closed for a
healthy one, so a command on it failed and marked the shard down again)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kith_proto.tasks import cancel_and_wait
from kith_signal.cluster.shard import POOL_SIZE, Shard
from kith_signal.metrics import Metrics
from kith_testkit.redis_server import RedisServer, redis_available

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")

WAIT = 10.0


async def until(probe: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not probe():  # noqa: ASYNC110 - the shard's health is a plain flag
            await asyncio.sleep(0.01)
    assert probe(), what


async def _ready(shard: Shard) -> None:
    del shard


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    async with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def shard(redis: RedisServer) -> AsyncIterator[Shard]:
    shard = Shard(
        0,
        redis.url,
        notice_channel=b"kn:test",
        on_message=lambda channel, data: None,
        channels=lambda shard: [],
        on_ready=_ready,
        metrics=Metrics(),
        log=logging.getLogger("kith_signal.test"),
    )
    task = asyncio.create_task(shard.run())
    await until(lambda: shard.up, "the shard comes up")
    yield shard
    async with asyncio.timeout(WAIT):
        await cancel_and_wait(task)
    assert task.cancelled()
    await shard.close()


async def pings(shard: Shard, count: int) -> list[list[object]]:
    """``count`` pipelines at once, each on a pooled connection of its own."""

    async def one() -> list[object]:
        pipe = shard.pipeline()
        pipe.ping()
        return await shard.execute_now(pipe, "ping")

    return list(await asyncio.gather(*(one() for _ in range(count))))


def errors(shard: Shard) -> float:
    metrics = shard._metrics  # the shard's own counter is the point
    return metrics.registry.get_sample_value("kith_signal_redis_errors_total", {"shard": "0"}) or 0


async def test_commands_on_a_healthy_shard_all_succeed(shard: Shard) -> None:
    assert await pings(shard, POOL_SIZE) == [[True]] * POOL_SIZE
    assert shard.up
    assert errors(shard) == 0


async def test_the_first_commands_after_redis_returns_find_fresh_connections(
    shard: Shard, redis: RedisServer
) -> None:
    assert await pings(shard, POOL_SIZE) == [[True]] * POOL_SIZE  # the pool is full
    await asyncio.to_thread(redis.kill)
    await until(lambda: not shard.up, "the shard sees Redis gone")
    failed = errors(shard)
    assert failed >= 1
    await asyncio.to_thread(redis.start)
    await until(lambda: shard.up, "the shard comes back")
    assert await pings(shard, POOL_SIZE) == [[True]] * POOL_SIZE
    assert shard.up, shard.reason
    assert errors(shard) == failed
