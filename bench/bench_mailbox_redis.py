"""The offline mailbox's backends, in process, on the same items in one run:
the SQLite file of one ``kith-signal`` (on its worker thread) and Redis (one
Lua script per request) with redis-py's pure-Python reply parser and with
hiredis. Each row: microseconds per deposit (sequential, like one
connection's requests), per fetch + ack of a topic's items, and Redis's
memory per waiting item beyond the sealed bytes. The anchor, measured in the
same run on the same redis-server, is a bare ``SET`` of an item of the same
size (one round trip, no script): ratios are to it.

Usage: python bench/bench_mailbox_redis.py [--items N] [--topics T]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser

from benchlib import report
from kith_signal.mailbox.backend import MailboxBackend, MailboxLimits
from kith_signal.mailbox.redis_store import RedisMailboxStore
from kith_signal.mailbox.sqlite_store import MailboxFile
from kith_testkit.redis_server import RedisServer

ITEM = 1536  # the smallest sealed bucket (kith_proto.mailbox_seal.BUCKETS)


async def anchor(url: str, items: list[bytes]) -> float:
    """Microseconds per bare SET of one item (hiredis parser)."""
    client = aioredis.Redis.from_url(url, parser_class=_AsyncHiredisParser)
    started = time.perf_counter()
    for n, item in enumerate(items):
        await client.set(b"anchor:%d" % n, item)
    elapsed = time.perf_counter() - started
    await client.flushdb()
    await client.aclose()
    return 1e6 * elapsed / len(items)


async def measure(
    store: MailboxBackend, topics: list[bytes], items: list[bytes]
) -> tuple[float, float]:
    """Microseconds per deposit, and per fetch + ack of one topic's items."""
    started = time.perf_counter()
    for n, item in enumerate(items):
        await store.deposit(topics[n % len(topics)], item, 1.0)
    deposited = time.perf_counter()
    taken = 0
    for topic in topics:
        got, _ = await store.fetch(topic, 2.0, 1 << 22)
        taken += len(got)
        await store.ack(topic, [i.id for i in got])
    done = time.perf_counter()
    assert taken == len(items), (taken, len(items))
    return 1e6 * (deposited - started) / len(items), 1e6 * (done - deposited) / len(topics)


async def redis_memory_per_item(url: str, topics: list[bytes], items: list[bytes]) -> float:
    """used_memory per waiting item, beyond its sealed bytes."""
    client = aioredis.Redis.from_url(url)
    before = int((await client.info("memory"))["used_memory"])
    store = RedisMailboxStore(client, MailboxLimits())
    for n, item in enumerate(items):
        await store.deposit(topics[n % len(topics)], item, 1.0)
    after = int((await client.info("memory"))["used_memory"])
    await client.flushdb()
    await store.aclose()
    return (after - before) / len(items) - ITEM


async def run(count: int, topic_count: int) -> None:
    topics = [os.urandom(32) for _ in range(topic_count)]
    items = [os.urandom(ITEM) for _ in range(count)]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with RedisServer(root / "redis") as server:
            bare = await anchor(server.url, items)
            rows.append({"backend": "bare SET (anchor)", "deposit_us": bare, "ratio": 1.0})
            backends: list[tuple[str, MailboxBackend]] = [
                ("sqlite file", MailboxFile(root / "file", MailboxLimits())),
                (
                    "redis, python parser",
                    RedisMailboxStore(
                        aioredis.Redis.from_url(server.url, parser_class=_AsyncRESP2Parser),
                        MailboxLimits(),
                    ),
                ),
                (
                    "redis, hiredis",
                    RedisMailboxStore(
                        aioredis.Redis.from_url(server.url, parser_class=_AsyncHiredisParser),
                        MailboxLimits(),
                    ),
                ),
            ]
            for name, store in backends:
                deposit, fetch_ack = await measure(store, topics, items)
                await store.aclose()
                rows.append(
                    {
                        "backend": name,
                        "deposit_us": deposit,
                        "ratio": deposit / bare,
                        "fetch_ack_us": fetch_ack,
                        "items_per_fetch": count // topic_count,
                    }
                )
            overhead = await redis_memory_per_item(server.url, topics, items)
    load = os.getloadavg()[0]
    report(
        "mailbox_redis",
        rows,
        {
            "items": count,
            "topics": topic_count,
            "item_bytes": ITEM,
            "redis_bytes_per_item_beyond_payload": overhead,
            "load_1min": load,
        },
    )
    print(f"Redis memory per waiting item beyond its {ITEM} bytes: {overhead:.0f} B")
    print(f"load average (1 min) during the run: {load:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--topics", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.items, args.topics))


if __name__ == "__main__":
    main()
