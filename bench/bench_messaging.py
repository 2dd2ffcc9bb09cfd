"""Messaging benchmarks: two real ``kith run`` nodes versus a raw aiortc channel.

Run: ``.venv/bin/python bench/bench_messaging.py`` (or ``make bench``).
A real ``kith-signal`` and two real ``kith run`` processes on loopback (no
STUN), driven through their local APIs (HTTP, like the UI and the CLI):

* ``first send → channel open``: the contact is online and no link exists;
  from ``POST …/messages`` to the message's ``sent`` event (offer, answer,
  ICE, DTLS, SCTP, the session handshake and the first frame).
* ``send → delivered``: one message on an open channel, from the POST to the
  ``delivered`` event at the sender: HTTP, persistence on both sides,
  encryption, the receiver's stored-then-receipted answer.
* ``sustained``: many senders posting at once; messages per second from the
  first POST to the last ``delivered``, with persistence and a receipt per
  message on both sides. CPU per message is both nodes' process time (and
  each node's: the sender's, which also serves the HTTP requests, and the
  receiver's).
  The load is the real client's: one ``POST …/messages`` per message (what
  the page's send button and ``kith send`` make; aiohttp, like a browser,
  sends such a small request in one segment), ``SENDERS`` of them in flight,
  and the page's event socket open on the sender (its ``message`` and
  ``message_state`` events cost the node what they cost with the UI open).
  The burst runs ``BURSTS`` (five) times on the same nodes; the row gives
  the median burst (by rate; its CPU) and every burst's rate, since one
  burst on a shared machine can land on a neighbour's spike (single bursts
  of the same code ranged over 0.46-0.81 of the raw channel in one run).

The raw aiortc data channel (two peers in this process) runs in the same
run for scale: its channel open and round trip once (``bench_p2p.bench_raw``),
its one-way rate (``bench_p2p.raw_one_way``) right before each burst, so the
anchor and the burst meet the same moment of a shared machine. The
sustained row's ``vs_raw`` is the median burst's messages per second over
the median raw one-way rate (the target is 0.5); ``bursts_vs_raw`` pairs
each burst with the raw run just before it; ``vs_raw_at_start`` is over the
one-way rate measured first, before any node started (for comparison with
earlier runs, which had only that anchor). The machine's load average
before and after is written with the figures: on a shared machine, compare
runs only at a similar load.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

import bench_p2p
from benchlib import percentile, report
from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import NodeProcess, kith, ok

OPENS = 8
ROUND_TRIPS = 300
UNLIMITED = ("--inbound-rate", "1000000", "--inbound-burst", "1000000")
"""The node's capacity is measured, not the per-contact inbound limit (200 a
second by default, which caps one contact by design; ``docs/p2p.md``)."""
SUSTAINED = 3000
SENDERS = 16
BURSTS = 5
TEXT = "x" * 100


class Api:
    """An aiohttp client for one node plus its event stream."""

    def __init__(self, node: NodeProcess, session: aiohttp.ClientSession) -> None:
        info = node.info
        self.base = f"http://{info.host}:{info.port}"
        self.headers = {"Authorization": f"Bearer {info.token}"}
        self.session = session
        self.waiters: dict[tuple[str, str], asyncio.Future[float]] = {}

    async def send(self, contact: str, text: str = TEXT) -> str:
        url = f"{self.base}/api/contacts/{contact}/messages"
        async with self.session.post(url, json={"text": text}, headers=self.headers) as r:
            assert r.status == 201, await r.text()
            return str((await r.json())["id"])

    def expect(self, message_id: str, state: str) -> asyncio.Future[float]:
        future = asyncio.get_running_loop().create_future()
        self.waiters[(message_id, state)] = future
        return future

    async def listen(self) -> None:
        async with self.session.ws_connect(f"{self.base}/api/events", headers=self.headers) as ws:
            async for raw in ws:
                event = raw.json()
                if event.get("type") != "message_state":
                    continue
                now = time.perf_counter()
                waiter = self.waiters.pop((event["id"], event["state"]), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)

    async def last_state(self, contact: str) -> str:
        url = f"{self.base}/api/contacts/{contact}/messages?limit=1"
        async with self.session.get(url, headers=self.headers) as r:
            return str((await r.json())["messages"][-1]["state"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_status(world: ChatWorld, who: str, other: str, status: str) -> None:
    await asyncio.to_thread(world.nodes[who].sees, world.ids[other], status)


async def bench_open(world: ChatWorld, a: Api) -> list[float]:
    samples = []
    b_id = world.ids["b"]
    for _ in range(OPENS):
        ok(await asyncio.to_thread(kith, world.dirs["b"], "status", "set", "invisible"))
        await wait_status(world, "a", "b", "offline")  # alice closes the link
        ok(await asyncio.to_thread(kith, world.dirs["b"], "status", "set", "online"))
        await wait_status(world, "a", "b", "online")
        await asyncio.sleep(0.3)  # let the old link finish closing
        start = time.perf_counter()
        message_id = await a.send(b_id)
        sent = a.expect(message_id, "sent")
        delivered = a.expect(message_id, "delivered")
        samples.append(await asyncio.wait_for(sent, 30) - start)
        await asyncio.wait_for(delivered, 30)
    return samples


async def bench_round_trips(world: ChatWorld, a: Api) -> list[float]:
    samples = []
    for _ in range(ROUND_TRIPS):
        start = time.perf_counter()
        message_id = await a.send(world.ids["b"])
        delivered = a.expect(message_id, "delivered")
        samples.append(await asyncio.wait_for(delivered, 30) - start)
    return samples


async def bench_sustained(world: ChatWorld, a: Api) -> tuple[float, float]:
    """Messages per second and both nodes' CPU µs per message of one burst."""
    rate, sender_cpu, receiver_cpu = await bench_sustained_split(world, a)
    return rate, sender_cpu + receiver_cpu


async def bench_sustained_split(world: ChatWorld, a: Api) -> tuple[float, float, float]:
    """Receipts are applied in order, so the last message delivered means all are.

    Polled (every 20 ms, one message) rather than counted from the event
    stream: a burst makes two events per message, and the node drops an
    event client that falls 1,024 behind.
    """
    pids = [world.nodes[n].proc.pid for n in "ab"]
    cpu = [cpu_seconds(p) for p in pids]
    start = time.perf_counter()

    async def sender(count: int) -> None:
        for _ in range(count):
            await a.send(world.ids["b"])

    await asyncio.gather(*(sender(SUSTAINED // SENDERS) for _ in range(SENDERS)))
    for _ in range(6000):  # 120 s
        if await a.last_state(world.ids["b"]) == "delivered":
            break
        await asyncio.sleep(0.02)
    else:
        raise TimeoutError("the burst was not delivered within 120 s")
    end = time.perf_counter()
    used = [cpu_seconds(p) - before for p, before in zip(pids, cpu, strict=True)]
    rate = SENDERS * (SUSTAINED // SENDERS) / (end - start)
    return rate, used[0] / SUSTAINED * 1e6, used[1] / SUSTAINED * 1e6


async def bench_nodes() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as root:
        world = ChatWorld(Path(root))
        try:
            world.start("a", "b", flags=UNLIMITED)
            world.online("a", "b")
            async with aiohttp.ClientSession() as session:
                a = Api(world.nodes["a"], session)
                listener = asyncio.ensure_future(a.listen())
                await asyncio.sleep(0.3)
                opens = await bench_open(world, a)
                rtts = await bench_round_trips(world, a)
                raws, bursts = [], []
                for _ in range(BURSTS):
                    raws.append(await bench_p2p.raw_one_way())
                    bursts.append(await bench_sustained_split(world, a))
                listener.cancel()
        finally:
            world.close()
    rate, sender_cpu, receiver_cpu = sorted(bursts)[len(bursts) // 2]
    raw_rate, raw_cpu = sorted(raws)[len(raws) // 2]
    return [
        {"case": "raw aiortc: one way (beside each burst)", "msgs_per_s": raw_rate,
         "cpu_us_per_msg": raw_cpu, "bursts_msgs_per_s": [round(r) for r, _ in raws]},
        {"case": "kith nodes: first send → channel open", "p50_ms": percentile(opens, 50) * 1000,
         "p99_ms": percentile(opens, 99) * 1000, "n": len(opens)},
        {"case": "kith nodes: send → delivered (open channel)",
         "p50_ms": percentile(rtts, 50) * 1000, "p99_ms": percentile(rtts, 99) * 1000,
         "n": len(rtts)},
        {"case": "kith nodes: sustained, persisted + receipts", "msgs_per_s": rate,
         "cpu_us_per_msg": sender_cpu + receiver_cpu, "sender_cpu_us_per_msg": sender_cpu,
         "receiver_cpu_us_per_msg": receiver_cpu, "n": SUSTAINED,
         "bursts_msgs_per_s": [round(r) for r, _, _ in bursts],
         "vs_raw": rate / raw_rate,
         "bursts_vs_raw": [round(b[0] / r[0], 3) for b, r in zip(bursts, raws, strict=True)]},
    ]  # fmt: skip


async def main() -> None:
    raw = await bench_p2p.bench_raw()
    rows = [
        {"case": "raw aiortc: channel open", "p50_ms": raw["open_p50_ms"]},
        {"case": "raw aiortc: round trip", "p50_ms": raw["rtt_p50_ms"],
         "p99_ms": raw["rtt_p99_ms"]},
        {"case": "raw aiortc: one way (at the start)", "msgs_per_s": raw["msgs_per_s"],
         "cpu_us_per_msg": raw["cpu_us_per_msg"]},
    ]  # fmt: skip
    load_before = os.getloadavg()[0]
    rows += await bench_nodes()
    rows[-1]["vs_raw_at_start"] = rows[-1]["msgs_per_s"] / raw["msgs_per_s"]
    report(
        "messaging",
        rows,
        {
            "payload_chars": len(TEXT),
            "senders": SENDERS,
            "target_vs_raw": 0.5,
            "load_average_1min": [load_before, os.getloadavg()[0]],
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
