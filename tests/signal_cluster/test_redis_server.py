"""kith_testkit.redis_server: a real redis-server that starts, answers, stops and restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from kith_testkit.redis_server import RedisServer, redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server missing: run make system-deps"
)


async def test_answers_and_restarts_on_the_same_port_losing_memory_only(tmp_path: Path) -> None:
    async with RedisServer(tmp_path / "r") as server:
        client = aioredis.Redis.from_url(server.url)
        try:
            assert await client.ping() is True
            await client.set(b"k", b"v")
            port = server.port
            server.kill()
            assert not server.ping()
            with pytest.raises(aioredis.ConnectionError):
                await client.get(b"k")
            server.start()
            assert server.port == port
            assert await client.get(b"k") is None  # no persistence unless asked
        finally:
            await client.aclose()
    assert not server.running
    assert not server.ping()


def test_appendonly_keeps_writes_across_a_clean_restart(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "r", appendonly=True) as server:
        with server.client() as client:
            client.set(b"kept", b"yes")
            client.hset(b"h", mapping={b"f": b"v"})
        server.restart()
        with server.client() as client:
            assert client.get(b"kept") == b"yes"
        assert sorted(server.dump()) == sorted([b"kept", b"yes", b"h", b"f", b"v"])


def test_starting_twice_is_refused(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "r") as server, pytest.raises(RuntimeError, match="already"):
        server.start()
