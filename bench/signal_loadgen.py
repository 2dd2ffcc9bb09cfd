"""Load-generator worker for ``bench_signal.py`` (one asyncio loop, many users).

Run by the benchmark, never by hand: it reads one JSON command per line on
stdin and answers one JSON line on stdout. Worker ``w`` of ``W`` simulates
the users ``i`` with ``i % W == w`` out of ``users``; user ``i``'s contacts
are ``i ± 1 .. i ± contacts/2`` (mod ``users``), so half of every user's
contacts live in the other worker. The presence topic ``i → j`` is
``sha256("i>j")``: user ``i`` publishes on ``i → j`` and subscribes to
``j → i`` for each contact ``j``.

Commands: ``connect`` (upto, concurrency), ``subscribe``, ``publish_all``,
``count``, ``churn`` (rate, seconds), ``collect``, ``quit``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import hashlib
import json
import os
import random
import resource
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from kith_proto import wire
from kith_proto.envelope import ENVELOPE_SIZE
from signal_rawws import Inbound, RawClient

ENVELOPE_BYTES: Final = ENVELOPE_SIZE  # a real presence payload size
_FILLER: Final = os.urandom(ENVELOPE_BYTES - 8)
MAX_FRAME_BYTES: Final = 65536  # the server's default; the node splits its batches to fit


def token(source: int, target: int) -> bytes:
    """The publish token of user ``source`` for contact ``target`` (raw)."""
    return hashlib.sha256(b"%d>%d" % (source, target)).digest()


def topic(source: int, target: int) -> bytes:
    """The presence topic user ``source`` publishes for contact ``target``:
    the one its publish token opens, as the real node's topics are."""
    return _b64(wire.token_topic(token(source, target)))


def _b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw)[:43]


def contacts(user: int, users: int, count: int) -> list[int]:
    """The contacts of ``user``: ``count/2`` neighbours on each side."""
    half = count // 2
    return [(user + d) % users for d in range(-half, half + 1) if d]


def stamped_payload() -> bytes:
    """An envelope-sized payload whose first 8 bytes are ``time.monotonic()``."""
    raw = struct.pack(">d", time.monotonic()) + _FILLER
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def stamp_of(payload: str) -> float:
    """The ``time.monotonic()`` stamp in a payload from :func:`stamped_payload`."""
    return float(struct.unpack(">d", base64.urlsafe_b64decode(payload[:12])[:8])[0])


class User:
    """One simulated user: its frames, prepared once."""

    __slots__ = ("client", "index", "publish_prefixes", "subscribe_frame")

    def __init__(self, index: int, users: int, count: int) -> None:
        self.index = index
        mine = contacts(index, users, count)
        topics = b",".join(b'"' + topic(c, index) + b'"' for c in mine)
        self.subscribe_frame = b'{"type":"subscribe","topics":[' + topics + b'],"ref":1}'
        self.publish_prefixes = [
            b'{"topic":"'
            + topic(index, c)
            + b'","token":"'
            + _b64(token(index, c))
            + b'","payload":"'
            for c in mine
        ]
        self.client: RawClient | None = None

    def publish(self, payload: bytes) -> int:
        """Publish ``payload`` on all of this user's topics in one
        ``publish_batch``, as the node sends a status change; return the count."""
        assert self.client is not None
        head, tail = b'{"type":"publish_batch","items":[', b"]}"
        items = [p + payload + b'"}' for p in self.publish_prefixes]
        batch: list[bytes] = []
        size = len(head) + len(tail)
        for item in items:
            if batch and size + len(item) + 1 > MAX_FRAME_BYTES:
                self.client.send(head + b",".join(batch) + tail)
                batch, size = [], len(head) + len(tail)
            batch.append(item)
            size += len(item) + 1
        self.client.send(head + b",".join(batch) + tail)
        return len(items)


class Worker:
    """All users of one worker process and their counters."""

    def __init__(self, url: str, worker: int, workers: int, users: int, count: int) -> None:
        self.url = url
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.users = [User(i, users, count) for i in range(worker, users, workers)]
        self.connected: list[User] = []
        self.counts: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.arrivals: list[float] = []
        self.recording = False
        self._changed = asyncio.Event()

    # -- frames --

    def on_frame(self, client: RawClient, frame: Inbound) -> None:
        kind = frame.type
        self.counts[kind] += 1
        self._changed.set()
        if kind == "event" and self.recording:
            now = time.monotonic()
            self.latencies.append(now - stamp_of(frame.payload))
            self.arrivals.append(now)
        elif kind in ("error", "bye"):
            self.counts[f"{kind}:{frame.code}"] += 1

    def on_lost(self, client: RawClient, reason: str) -> None:
        self.counts["lost"] += 1
        self.counts[f"lost:{reason}"] += 1

    # -- commands --

    async def connect(self, upto: int, concurrency: int) -> dict[str, Any]:
        started = time.monotonic()
        gate = asyncio.Semaphore(concurrency)
        pending = self.users[len(self.connected) : upto]
        results = await asyncio.gather(*(self._connect_one(u, gate) for u in pending))
        self.connected += [u for u, ok in zip(pending, results, strict=True) if ok]
        failed = results.count(False)
        return {"connected": len(self.connected), "failed": failed, "seconds": _since(started)}

    async def _connect_one(self, user: User, gate: asyncio.Semaphore) -> bool:
        loop = asyncio.get_running_loop()
        host_header = f"{self.host}:{self.port}"
        async with gate:
            try:
                async with asyncio.timeout(30):
                    _, client = await loop.create_connection(
                        lambda: RawClient(self.url, host_header, self.on_frame, self.on_lost),
                        self.host,
                        self.port,
                    )
                    await client.ready
            except (OSError, TimeoutError) as exc:
                self.counts[f"connect_failed:{type(exc).__name__}"] += 1
                return False
        client.user = user.index
        user.client = client
        return True

    async def subscribe(self) -> dict[str, Any]:
        started = time.monotonic()
        for user in self.connected:
            assert user.client is not None
            user.client.send(user.subscribe_frame)
        await self._until(lambda: self.counts["subscribed"] >= len(self.connected))
        return {"seconds": _since(started)}

    async def publish_all(self) -> dict[str, Any]:
        # Publishes carry no ``ref``: the server does not acknowledge them (a
        # server from before that rule does; either way the benchmark waits
        # for the events, not the acks).
        started, sent = time.monotonic(), 0
        payload = stamped_payload()
        for n, user in enumerate(self.connected):
            sent += user.publish(payload)
            if n % 100 == 99:
                await asyncio.sleep(0)
        _freeze_heap()
        return {"publishes": sent, "seconds": _since(started)}

    async def churn(self, rate: float, seconds: float) -> dict[str, Any]:
        GC_PAUSES_MS.clear()
        self.recording = True
        started, changes, sent = time.monotonic(), 0, 0
        while (elapsed := time.monotonic() - started) < seconds:
            for _ in range(int(elapsed * rate) - changes):
                sent += random.choice(self.connected).publish(stamped_payload())
                changes += 1
            await asyncio.sleep(0.005)
        return {"changes": changes, "publishes": sent, "seconds": _since(started)}

    def count(self) -> dict[str, Any]:
        return {"counts": dict(self.counts)}

    def collect(self) -> dict[str, Any]:
        self.recording = False
        latencies, self.latencies = self.latencies, []
        arrivals, self.arrivals = self.arrivals, []
        pauses, GC_PAUSES_MS[:] = list(GC_PAUSES_MS), []
        return {
            "latencies": latencies,
            "arrivals": arrivals,
            "counts": dict(self.counts),
            "gc_pauses_ms": pauses,
        }

    def quit(self) -> None:
        for user in self.connected:
            if user.client is not None:
                user.client.close()

    async def _until(self, done: Callable[[], bool]) -> None:
        """Wait (at most two minutes) until ``done()`` after received frames."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(120):
                while not done():
                    self._changed.clear()
                    await self._changed.wait()


GC_PAUSES_MS: list[float] = []
_gc_started = [0.0]


def _trace_gc(phase: str, info: dict[str, Any]) -> None:
    """Record the generator's own collector pauses over 10 ms."""
    if phase == "start":
        _gc_started[0] = time.perf_counter()
        return
    ms = (time.perf_counter() - _gc_started[0]) * 1000
    if ms > 10:
        GC_PAUSES_MS.append(round(ms, 1))


def _freeze_heap() -> None:
    """Move the generator's stable heap (10k clients) out of its collector's
    reach, so that its own full collections never show up as server latency.

    Done at the end of the set-up, not when the churn starts: one worker
    collecting while the other already sends would delay the first events.
    """
    gc.collect()
    gc.freeze()


def _since(started: float) -> float:
    return round(time.monotonic() - started, 4)


def _raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def serve(worker: Worker) -> None:
    """Answer commands from stdin until ``quit`` or end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            worker.quit()
            await asyncio.sleep(0.2)
            _answer({"ok": True})
            return
        handler = getattr(worker, name)
        result = handler(**command)
        _answer(await result if asyncio.iscoroutine(result) else result)


def _answer(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def main() -> None:
    """Entry point: parse flags, raise the open-file limit, serve commands."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--worker", type=int, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--contacts", type=int, default=50)
    args = p.parse_args()
    nofile = _raise_open_files()
    gc.callbacks.append(_trace_gc)
    if not args.url.startswith("ws://127.0.0.1:"):
        raise SystemExit("the load generator only targets ws://127.0.0.1")
    worker = Worker(args.url, args.worker, args.workers, args.users, args.contacts)
    _answer({"ready": True, "users": len(worker.users), "nofile": nofile, "pid": os.getpid()})
    asyncio.run(serve(worker))


if __name__ == "__main__":
    main()
