"""Messaging through a TURN relay versus directly, in the same run.

Run: ``.venv/bin/python bench/bench_turn.py`` (needs coturn: ``make system-deps``).
A real coturn and a real ``kith-signal --turn-url … --turn-secret-file …`` on
loopback; two pairs of real ``kith run`` nodes, one pair with ``relay_only``
(every packet through coturn) and one without (ICE picks the direct path).
Each pair's path is checked from the nodes (``GET /api/contacts/{id}/link``)
before it is measured:

* ``send → delivered``: one message on an open channel, from the POST to the
  ``delivered`` event at the sender (p50/p99);
* ``sustained``: many senders at once, messages per second from the first
  POST to the last ``delivered`` (persisted, with a receipt per message).

The ratio row is relay over direct (latency) and relay over direct (rate).
On loopback the relay adds a hop through coturn and its user-space copy, not
network distance: the ratio is the relay's own cost.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bench_messaging import UNLIMITED, Api, bench_round_trips, bench_sustained
from benchlib import percentile, report
from kith_testkit.chat_world import NODE_FLAGS, SERVER_FLAGS, ChatWorld
from kith_testkit.coturn import CoturnProcess
from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.polling import wait_for
from kith_testkit.signal.process import SignalProcess


class TurnWorld(ChatWorld):
    """A :class:`ChatWorld` on a given ``kith-signal`` (one with TURN flags)."""

    def __init__(self, root: Path, server: SignalProcess, *, relay_only: bool) -> None:
        self.server = server
        self.dirs = {n: root / n for n in "ab"}
        self.ids = {n: make_identity(p, n, server.url) for n, p in self.dirs.items()}
        add_contact(self.dirs["a"], self.ids["b"], "b")
        add_contact(self.dirs["b"], self.ids["a"], "a")
        for path in self.dirs.values():
            ok(kith(path, "settings", "set", "relay_only", str(relay_only).lower()))
        self.nodes: dict[str, NodeProcess] = {}

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()


def _path(world: ChatWorld) -> str:
    def probe() -> str | None:
        status, body = call(world.nodes["a"], "GET", f"/api/contacts/{world.ids['b']}/link")
        assert status == 200, body
        return body["path"] if body["state"] == "open" and body["path"] else None

    return wait_for(probe, "the link to open", timeout=30)


async def bench_pair(root: Path, server: SignalProcess, *, relay_only: bool) -> dict[str, Any]:
    world = TurnWorld(root, server, relay_only=relay_only)
    try:
        world.nodes = {n: NodeProcess(world.dirs[n], *NODE_FLAGS, *UNLIMITED) for n in "ab"}
        world.online("a", "b")
        async with aiohttp.ClientSession() as session:
            a = Api(world.nodes["a"], session)
            listener = asyncio.ensure_future(a.listen())
            await asyncio.sleep(0.3)  # the event socket is subscribed
            await a.send(world.ids["b"], "open the channel")
            path = await asyncio.to_thread(_path, world)
            rtts = await bench_round_trips(world, a)
            rate, cpu = await bench_sustained(world, a)
            listener.cancel()
    finally:
        world.close()
    expected = "relay" if relay_only else "direct"
    if path != expected:
        raise RuntimeError(f"the {expected} pair connected through {path}")
    return {
        "case": f"{path}: send → delivered; sustained",
        "p50_ms": percentile(rtts, 50) * 1000,
        "p99_ms": percentile(rtts, 99) * 1000,
        "msgs_per_s": rate,
        "cpu_us_per_msg": cpu,
    }


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        coturn = CoturnProcess(root / "coturn")
        server = SignalProcess(
            *SERVER_FLAGS,
            "--turn-url",
            coturn.url,
            "--turn-secret-file",
            str(coturn.secret_file),
        )
        try:
            direct = await bench_pair(root / "direct", server, relay_only=False)
            relay = await bench_pair(root / "relay", server, relay_only=True)
        finally:
            server.stop()
            coturn.stop()
    ratio = {
        "case": "ratio relay / direct",
        "p50_ms": relay["p50_ms"] / direct["p50_ms"],
        "p99_ms": relay["p99_ms"] / direct["p99_ms"],
        "msgs_per_s": relay["msgs_per_s"] / direct["msgs_per_s"],
        "cpu_us_per_msg": relay["cpu_us_per_msg"] / direct["cpu_us_per_msg"],
    }
    report("turn", [direct, relay, ratio], {"transport": "udp", "where": "loopback"})


if __name__ == "__main__":
    asyncio.run(main())
