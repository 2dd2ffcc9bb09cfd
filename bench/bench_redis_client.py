"""Which asyncio Redis client for the cluster broker: redis-py or coredis.

The workload is the broker's: one status change of a user with 50 contacts
is one pipeline of 50 ``SET kr:<topic>`` (a 385-byte value) and 50
``PUBLISH kc:<topic>``. Each client runs the same changes against the same
redis-server, one after the other, beside a bare anchor in the same run: the
commands packed once as RESP bytes, written on an asyncio stream, and the
100 replies read back. Reported per client: latency of one change alone
(p50/p99), changes per second with 32 in flight, and the client process's CPU
per change; ratios to the anchor.

Run: ``.venv/bin/python bench/bench_redis_client.py`` (coredis is optional: it
is skipped, and said so, when not installed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from benchlib import percentile, report
from kith_testkit.redis_server import RedisServer

CONTACTS = 50
VALUE = os.urandom(385)
TOPICS = [os.urandom(32) for _ in range(CONTACTS)]
Change = Callable[[], Awaitable[None]]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def resp(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


async def bare(port: int) -> tuple[Change, Callable[[], Awaitable[None]]]:
    """The anchor: pre-packed commands on a raw stream, replies counted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    packed = b"".join(
        resp(b"SET", b"kr:" + t, VALUE) + resp(b"PUBLISH", b"kc:" + t, b"E" + VALUE) for t in TOPICS
    )
    lock = asyncio.Lock()

    async def change() -> None:
        async with lock:  # one stream: replies come back in order
            writer.write(packed)
            for _ in range(2 * CONTACTS):
                await reader.readuntil(b"\r\n")

    async def close() -> None:
        writer.close()
        await writer.wait_closed()

    return change, close


async def redis_py(port: int) -> tuple[Change, Callable[[], Awaitable[None]]]:
    client = aioredis.Redis(host="127.0.0.1", port=port)

    async def change() -> None:
        pipe = client.pipeline(transaction=False)
        for t in TOPICS:
            pipe.set(b"kr:" + t, VALUE)
            pipe.publish(b"kc:" + t, b"E" + VALUE)
        await pipe.execute()

    return change, client.aclose


async def coredis_client(port: int) -> tuple[Change, Callable[[], Awaitable[None]]] | None:
    try:
        import coredis
    except ImportError:
        return None
    client: Any = coredis.Redis(host="127.0.0.1", port=port)
    context = client.__aenter__()
    await context

    async def change() -> None:
        async with client.pipeline(transaction=False) as pipe:
            for t in TOPICS:
                pipe.set(b"kr:" + t, VALUE)
                pipe.publish(b"kc:" + t, b"E" + VALUE)

    async def close() -> None:
        await client.__aexit__(None, None, None)

    return change, close


async def measure(change: Change, alone: int, seconds: float) -> dict[str, Any]:
    for _ in range(20):  # warm up
        await change()
    latencies = []
    for _ in range(alone):
        started = time.perf_counter()
        await change()
        latencies.append(time.perf_counter() - started)
    done = 0
    deadline = time.monotonic() + seconds
    cpu_before, wall = cpu(), time.monotonic()

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await change()
            done += 1

    await asyncio.gather(*(worker() for _ in range(32)))
    wall = time.monotonic() - wall
    return {
        "alone_p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "alone_p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "changes_per_s": round(done / wall),
        "cpu_us_per_change": round(1e6 * (cpu() - cpu_before) / max(1, done), 1),
    }


async def main_async(args: argparse.Namespace) -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-redis-client-") as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            makers: list[tuple[str, Any]] = [
                ("bare RESP (anchor)", bare),
                ("redis-py (hiredis parser)", redis_py),
                ("coredis", coredis_client),
            ]
            for name, make in makers:
                made = await make(server.port)
                if made is None:
                    print(f"{name}: not installed, skipped", file=sys.stderr)
                    continue
                change, close = made
                try:
                    rows.append({"client": name, **await measure(change, args.alone, args.seconds)})
                finally:
                    await close()
        finally:
            server.kill()
    anchor = rows[0]
    for row in rows:
        row["p50_x"] = round(row["alone_p50_ms"] / anchor["alone_p50_ms"], 2)
        row["cpu_x"] = round(row["cpu_us_per_change"] / anchor["cpu_us_per_change"], 2)
        row["throughput_x"] = round(row["changes_per_s"] / anchor["changes_per_s"], 2)
    import redis

    report(
        "redis_client",
        rows,
        extra={
            "contacts": CONTACTS,
            "redis_py": redis.__version__,
            "hiredis": _version("hiredis"),
            "coredis": _version("coredis"),
            "load_average_1m": os.getloadavg()[0],
        },
    )
    return 0


def _version(module: str) -> str | None:
    try:
        imported = __import__(module)
    except ImportError:
        return None
    return str(getattr(imported, "__version__", "?"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--alone", type=int, default=500, help="changes timed one at a time")
    p.add_argument("--seconds", type=float, default=5.0, help="duration with 32 in flight")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
