"""Group delivery through real nodes, at 4, 16 and 32 members.

Run: ``.venv/bin/python bench/bench_groups_nodes.py [--sizes 4,16,32] [--messages 40]``
(in a working tree others edit, run a committed state: ``git archive HEAD src`` into
a directory, and put its ``src`` first on ``PYTHONPATH``; the nodes inherit it).
For each size: a fresh real ``kith-signal`` and that many real ``kith run``
nodes on loopback, every one a contact of every other (what a group requires);
node ``m0`` creates the group with all the others. Then, in the same world:

- **anchor**: ``--messages`` 1:1 messages of 200 characters ``m0 -> m1``
  (arrival: the ``message`` event on ``m1``; done: ``delivered`` on ``m0``);
- **group**: ``--messages`` group messages of 200 characters, round-robin from
  ``--senders`` members; time to the first and to the last other member (their
  ``group_message`` events) and until the sender holds every member's
  ``delivered`` receipt; each message is sent once the previous one is done;
- **sender CPU** per message: utime+stime of the sender node (``/proc/PID/stat``)
  from the send call until its receipts are in, summed over all messages;
  also all nodes' CPU together over the phase and the machine's busy share;
- **bytes per member** per message: the exact data-channel payloads the four
  frames of one message for one member make (the sealed message and the ``ack``
  back, the ``delivered`` receipt and its ``ack``), computed by sealing the
  real frames (the sealed message as the node returned it) in a real session;
  the nodes count no wire bytes, so DTLS, SCTP, UDP and IP headers are added
  as fixed per-packet estimates (``WIRE_HEADERS``), SCTP SACKs not counted;
- **rotation**: ``m0`` removes the last member. Read from each node's own
  database while the nodes run (``group_sender_keys``: chain IDs, and
  ``created_at``, when the node last wrote its chains): the time until every
  remaining member has started its new chain (its ``group`` event), how many
  of the ``m (m - 1)`` new chains reach their members while nobody sends (a
  chain waits for a session with its receiver; only the bench's senders have
  sessions with everyone), then, with every remaining member sending one
  message at once, the time until 50 %, 90 % and all of those messages (each
  behind its sender's new chain) have reached every remaining member.

Live events are read by one asyncio thread holding every node's
``/api/events`` socket, which stamps each event on arrival (``perf_counter``).
Each node's RSS, the load average and the machine's CPU share are printed
beside the figures. A size that fails to set up or to deliver is reported
with where it stopped and what the machine looked like then.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

import kith
from benchlib import report, summary_ms
from kith.account import open_store, unlock
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.groups.frames import Ack, Queued, Receipt, Sealed, encode_group_frame
from kith.p2p import SecureChannel, SendData
from kith.passphrases import FixedPassphrase
from kith.store.connection import connect as connect_db
from kith_proto.keys import IdentityKeys
from kith_testkit.node_api import call
from kith_testkit.nodes import PASSPHRASE, NodeProcess, make_identity
from kith_testkit.polling import wait_for
from kith_testkit.signal.process import SignalProcess

T = TypeVar("T")
SIZES = (4, 16, 32)
MESSAGES = 40
SENDERS = 4
TEXT_LENGTH = 200
"""Characters of each measured message (as ``bench_groups.py``)."""
START_PARALLEL = 4
"""Nodes started at once: each start imports aiortc and more (CPU-seconds each on
the shared 2-core machine); each node gets 60 s + 3 s per member to come up."""
WIRE_HEADERS = 13 + 24 + 12 + 16 + 8 + 20
"""Per data-channel message: DTLS 1.2 record header (13) and AES-GCM nonce and tag
(24), SCTP common header (12) and DATA chunk header (16), UDP (8), IPv4 (20)."""
TICK = os.sysconf("SC_CLK_TCK")


def _scaled(n: int, base: float, per_member: float) -> float:
    """A timeout that grows with the group."""
    return base + per_member * n


# -- the machine and the processes --------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load() -> float:
    return round(os.getloadavg()[0], 2)


def rss_summary(pids: list[int]) -> dict[str, float]:
    values = [rss_mib(p) for p in pids]
    return {
        "min": round(min(values), 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
        "total": round(sum(values), 1),
    }


# -- live events ----------------------------------------------------------------


@dataclass
class Stamps:
    """Arrival times (perf_counter) of what the bench waits for, per node."""

    seen: dict[str, dict[str, float]] = field(default_factory=dict)
    """node -> message text -> first event showing it."""
    delivered: dict[str, float] = field(default_factory=dict)
    """group message text -> when its sender showed every member's receipt."""
    states: dict[str, float] = field(default_factory=dict)
    """1:1 message ID -> when it showed ``delivered`` on the sender."""
    versions: dict[str, dict[int, float]] = field(default_factory=dict)
    """node -> group version -> first ``group`` event with it."""

    def note(self, name: str, event: dict[str, Any], now: float) -> None:
        kind = event.get("type")
        if kind == "group_message":
            message = event["message"]
            self.seen[name].setdefault(str(message["body"]), now)
            receipts = message.get("receipts")
            if receipts and receipts["of"] and receipts["delivered"] >= receipts["of"]:
                self.delivered.setdefault(str(message["body"]), now)
        elif kind == "message":
            self.seen[name].setdefault(str(event["message"].get("text")), now)
        elif kind == "message_state" and event.get("state") == "delivered":
            self.states.setdefault(str(event["id"]), now)
        elif kind == "group":
            self.versions[name].setdefault(int(event["group"]["version"]), now)


class EventReader:
    """One asyncio thread holding every node's ``/api/events`` socket."""

    def __init__(self, nodes: dict[str, NodeProcess], timeout: float) -> None:
        self.stamps = Stamps({n: {} for n in nodes}, {}, {}, {n: {} for n in nodes})
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._sockets: list[ClientConnection] = []
        self._tasks: list[asyncio.Task[None]] = []
        opened = asyncio.run_coroutine_threadsafe(self._open(nodes), self._loop)
        opened.result(timeout)

    async def _open(self, nodes: dict[str, NodeProcess]) -> None:
        for name, node in nodes.items():
            info = node.info
            ws = await connect(
                f"ws://{info.host}:{info.port}/api/events",
                additional_headers={"Authorization": f"Bearer {info.token}"},
                max_size=None,
            )
            self._sockets.append(ws)
            self._tasks.append(asyncio.ensure_future(self._read(name, ws)))

    async def _read(self, name: str, ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.perf_counter()
                self.stamps.note(name, json.loads(raw), now)

    async def _close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


# -- a world of n mutual contacts -----------------------------------------------


@dataclass
class World:
    """A real server and ``n`` real nodes whose users are all each other's contacts."""

    root: Path
    n: int
    log: Callable[[str], None]
    server: SignalProcess | None = None
    names: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, NodeProcess] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def build(self, parallel: int) -> None:
        started = time.perf_counter()
        self.server = SignalProcess()
        url = self.server.url
        self.names = [f"m{i}" for i in range(self.n)]
        dirs = {name: self.root / name for name in self.names}
        with ThreadPoolExecutor(parallel) as pool:
            made = pool.map(lambda name: make_identity(dirs[name], name, url), self.names)
            self.ids = dict(zip(self.names, made, strict=True))
            list(pool.map(lambda name: self._befriend(dirs[name], name), self.names))
        self.timings["identities_and_contacts_s"] = time.perf_counter() - started
        self.log(f"  {self.n} identities, each with {self.n - 1} contacts ({load()} load)")
        started = time.perf_counter()
        ready = _scaled(self.n, 60.0, 3.0)
        with ThreadPoolExecutor(parallel) as pool:
            starts = {
                name: pool.submit(NodeProcess, dirs[name], ready_timeout=ready)
                for name in self.names
            }
        failed = []
        for name, start in starts.items():  # keep every node that started, to stop it
            try:
                self.nodes[name] = start.result()
            except Exception as exc:
                failed.append(f"{name}: {exc}")
        self.timings["nodes_start_s"] = time.perf_counter() - started
        if failed:
            raise AssertionError(f"{len(failed)} of {self.n} nodes did not start: {failed[:3]}")
        self.log(f"  {self.n} nodes up in {self.timings['nodes_start_s']:.1f} s ({load()} load)")

    def _befriend(self, path: Path, me: str) -> None:
        with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store:
            for other in self.names:
                if other != me:
                    kith_id, public_key = canonical_id(self.ids[other])
                    store.contacts.add(kith_id, public_key, other, time.time())

    def all_online(self, timeout: float) -> None:
        """Wait until every node shows every other as online."""
        started = time.perf_counter()
        waiting = set(self.names)

        def probe() -> bool | None:
            for name in list(waiting):
                status, body = call(self.nodes[name], "GET", "/api/contacts")
                online = sum(1 for c in body if c.get("status") == "online")
                if status == 200 and online >= self.n - 1:
                    waiting.discard(name)
            return not waiting or None

        try:
            wait_for(probe, f"every node to see the {self.n - 1} others online", timeout)
        except AssertionError:
            late = {n: call(self.nodes[n], "GET", "/api/contacts")[1] for n in sorted(waiting)}
            shown = {n: sorted(str(c.get("status")) for c in cs) for n, cs in late.items()}
            raise AssertionError(f"not all online after {timeout} s: {shown}") from None
        self.timings["all_online_s"] = time.perf_counter() - started

    def pids(self) -> list[int]:
        return [node.proc.pid for node in self.nodes.values()]

    def close(self) -> None:
        def kill(node: NodeProcess) -> None:
            with contextlib.suppress(Exception):
                node.kill()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(kill, self.nodes.values()))
        if self.server is not None:
            self.server.stop()


# -- the measurements -------------------------------------------------------------


@dataclass
class Sample:
    first: float
    last: float
    done: float
    sender_cpu: float


def _measure(
    world: World,
    stamps: Stamps,
    send: Callable[[str, str], str],
    senders: list[str],
    receivers: Callable[[str], list[str]],
    done: Callable[[str, str], float | None],
    count: int,
    tag: str,
) -> list[Sample]:
    """Send ``count`` messages one after the other; each one's arrival times."""
    wait = _scaled(world.n, 10.0, 0.5)
    samples = []
    for i in range(count):
        sender = senders[i % len(senders)]
        pid = world.nodes[sender].proc.pid
        body, to = f"{tag} {i} ".ljust(TEXT_LENGTH, "x"), receivers(sender)
        cpu_before, start = cpu_seconds(pid), time.perf_counter()
        key = send(sender, body)
        wait_for(
            lambda b=body, t=to: all(b in stamps.seen[r] for r in t) or None,  # type: ignore[misc]
            f"{body!r} at all {len(to)} receivers",
            wait,
        )
        finished = wait_for(lambda k=key, b=body: done(k, b), f"{body!r} delivered", wait)  # type: ignore[misc]
        arrivals = [stamps.seen[r][body] for r in to]
        samples.append(
            Sample(
                min(arrivals) - start,
                max(arrivals) - start,
                finished - start,
                cpu_seconds(pid) - cpu_before,
            )
        )
    return samples


def _row(case: str, samples: list[Sample], **extra: Any) -> dict[str, Any]:
    last = summary_ms([s.last for s in samples])
    first = summary_ms([s.first for s in samples])
    done = summary_ms([s.done for s in samples])
    return {
        "case": case,
        "all_p50_ms": last["p50_ms"],
        "all_p99_ms": last["p99_ms"],
        "first_p50_ms": first["p50_ms"],
        "first_p99_ms": first["p99_ms"],
        "receipts_p50_ms": done["p50_ms"],
        "sender_cpu_ms": 1000 * sum(s.sender_cpu for s in samples) / len(samples),
        "n": len(samples),
        **extra,
    }


def _post(world: World, sender: str, path: str, text: str) -> dict[str, Any]:
    status, body = call(world.nodes[sender], "POST", path, {"text": text})
    assert status == 201, (status, body)
    return dict(body)


def _anchor(world: World, stamps: Stamps, count: int) -> dict[str, Any]:
    a, b = world.names[0], world.names[1]

    def send(sender: str, text: str) -> str:
        return str(_post(world, sender, f"/api/contacts/{world.ids[b]}/messages", text)["id"])

    _measure(world, stamps, send, [a], lambda _: [b], lambda k, _: stamps.states.get(k), 3, "w1")
    samples = _measure(
        world, stamps, send, [a], lambda _: [b], lambda k, _: stamps.states.get(k), count, "direct"
    )
    return _row(f"anchor, {world.n} nodes up: 1:1 m0 -> m1", samples, load=load())


@dataclass
class Group:
    gid: str
    last_sealed: bytes = b""
    last_id: str = ""


def _create(world: World, stamps: Stamps) -> Group:
    """``m0`` creates the group; wait until every member has joined."""
    started = time.perf_counter()
    members = [world.ids[n] for n in world.names[1:]]
    status, body = call(
        world.nodes["m0"], "POST", "/api/groups", {"name": "bench", "members": members}
    )
    assert status == 201, body
    wait_for(
        lambda: all(1 in stamps.versions[n] for n in world.names) or None,
        "every member to join",
        _scaled(world.n, 20.0, 2.0),
    )
    world.timings["group_joined_s"] = time.perf_counter() - started
    return Group(body["id"])


def _group_messages(
    world: World, stamps: Stamps, group: Group, count: int, senders: int
) -> dict[str, Any]:
    names = world.names
    chosen = names[: min(senders, world.n)]

    def send(sender: str, text: str) -> str:
        body = _post(world, sender, f"/api/groups/{group.gid}/messages", text)
        group.last_sealed, group.last_id = bytes.fromhex(body["sealed"]), body["message"]["id"]
        return str(body["message"]["id"])

    def others(sender: str) -> list[str]:
        return [n for n in names if n != sender]

    def delivered(_: str, text: str) -> float | None:
        return stamps.delivered.get(text)

    # warm: each sender once (links open, chains in place)
    _measure(world, stamps, send, chosen, others, delivered, len(chosen), "warm")
    pids = world.pids()
    all_before = sum(cpu_seconds(p) for p in pids)
    busy0, total0 = machine_cpu()
    started = time.perf_counter()
    samples = _measure(world, stamps, send, chosen, others, delivered, count, "group")
    elapsed = time.perf_counter() - started
    busy1, total1 = machine_cpu()
    all_cpu = sum(cpu_seconds(p) for p in pids) - all_before
    return _row(
        f"group of {world.n}: {len(chosen)} senders -> {world.n - 1} others",
        samples,
        all_nodes_cpu_ms=1000 * all_cpu / count,
        machine_busy=round((busy1 - busy0) / max(1, total1 - total0), 3),
        phase_s=round(elapsed, 1),
        load=load(),
    )


def _bytes(group: Group) -> dict[str, Any]:
    """The data-channel payloads of one group message for one member (exact), and
    with fixed per-message DTLS/SCTP/UDP/IP headers (estimate)."""
    a, b = IdentityKeys(os.urandom(32)), IdentityKeys(os.urandom(32))
    left, right = SecureChannel(a, b.public_key), SecureChannel(b, a.public_key)
    queue: list[tuple[SecureChannel, bytes]] = [(right, left.start().data)]
    while queue:
        target, data = queue.pop(0)
        other = left if target is right else right
        queue += [(other, e.data) for e in target.receive(data) if isinstance(e, SendData)]
    seq = 1000  # a queue number well into a conversation (msgpack: 3 bytes)
    gid = bytes.fromhex(group.gid)
    frames = {
        "sealed_message": encode_group_frame(
            Queued(seq, encode_group_frame(Sealed(group.last_sealed)))
        ),
        "its_ack": encode_group_frame(Ack(seq)),
        "delivered_receipt": encode_group_frame(
            Queued(seq, encode_group_frame(Receipt(gid, "delivered", [group.last_id])))
        ),
        "receipt_ack": encode_group_frame(Ack(seq)),
    }
    payloads = {k: len(left.seal(v).data) for k, v in frames.items()}
    total = sum(payloads.values())
    return {
        "sealed_message_bytes": len(group.last_sealed),
        "payload_bytes": payloads,
        "payload_total": total,
        "sender_out_payload": payloads["sealed_message"] + payloads["receipt_ack"],
        "wire_estimate_total": total + 4 * WIRE_HEADERS,
    }


@dataclass(frozen=True)
class Held:
    rotated: int
    pairs: int
    written: float
    """The latest time (wall clock) any member wrote its chains."""


class ChainReader:
    """Each node's sender chains for one group, read from its own database while it runs."""

    def __init__(self, world: World, gid: str) -> None:
        self._gid = bytes.fromhex(gid)
        self._conns = {}
        for name in world.names:
            data_dir = DataDir(world.root / name)
            key = unlock(data_dir, FixedPassphrase(PASSPHRASE))
            self._conns[name] = connect_db(data_dir.db_path, key)
        self._ids = world.ids
        self.latest: dict[str, float] = {}

    def chains(self, name: str) -> tuple[bytes | None, set[tuple[str, bytes]], float]:
        rows = (
            self._conns[name]
            .execute(
                "SELECT sender_id, chain_id, own, created_at FROM group_sender_keys"
                " WHERE group_id = ?",
                (self._gid,),
            )
            .fetchall()
        )
        own = next((bytes(c) for s, c, o, _ in rows if o), None)
        peers = {(str(s), bytes(c)) for s, c, o, _ in rows if not o}
        written = max((float(t) for *_, t in rows), default=0.0)
        return own, peers, written

    def count(self, members: list[str], old: dict[str, bytes | None]) -> Held:
        """Who has rotated, and which ordered pairs (holder, sender) hold the sender's
        new chain; no chain of a former member may be left."""
        held = {n: self.chains(n) for n in members}
        new = {self._ids[n]: held[n][0] for n in members if held[n][0] not in (None, old[n])}
        ids = {self._ids[n] for n in members}
        pairs = 0
        for name in members:
            _, peers, _ = held[name]
            me = self._ids[name]
            pairs += sum(1 for m, c in new.items() if m != me and (m, c) in peers)
            if {s for s, _ in peers} - ids:
                pairs -= len(members)  # a former member's chain kept: never complete
        return Held(len(new), pairs, max(t for _, _, t in held.values()))

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()


def _rotation(world: World, stamps: Stamps, group: Group) -> dict[str, Any]:
    """``m0`` removes the last member; each remaining member starts a new chain and
    queues it for every other one. Measured: until all have rotated; how many of
    the new chains are everywhere with nobody sending (a chain waits for a session
    with its receiver; the bench's senders have sessions with everyone); then each
    remaining member sends one message, and until every one holds every new chain."""
    victim, remaining = world.names[-1], world.names[:-1]
    m = len(remaining)
    total = m * (m - 1)
    chains = ChainReader(world, group.gid)
    try:
        old = {n: chains.chains(n)[0] for n in remaining}
        version = int(call(world.nodes["m0"], "GET", f"/api/groups/{group.gid}")[1]["version"]) + 1
        wall, start = time.time(), time.perf_counter()
        status, body = call(
            world.nodes["m0"], "DELETE", f"/api/groups/{group.gid}/members/{world.ids[victim]}"
        )
        assert status == 200, body
        wait_for(
            lambda: all(version in stamps.versions[n] for n in remaining) or None,
            "the removal at every remaining member",
            _scaled(world.n, 20.0, 1.0),
        )
        rotated = max(stamps.versions[n][version] for n in remaining) - start
        quiet = _settle(chains, remaining, old, total, 3.0, _scaled(world.n, 20.0, 2.0))
        keys_quiet = quiet.written - wall
        sends = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: _post(
                world, n, f"/api/groups/{group.gid}/messages", f"after {n}"
            ), remaining))  # fmt: skip
        posted = time.perf_counter()

        pairs = [(r, f"after {x}") for r in remaining for x in remaining if x != r]

        def everyone() -> bool | None:
            return all(body in stamps.seen[r] for r, body in pairs) or None

        with contextlib.suppress(AssertionError):  # what arrived by then is reported
            wait_for(everyone, "every remaining member's message everywhere", _scaled(m, 60.0, 5.0))
        arrived = sorted(
            stamps.seen[r][body] - start for r, body in pairs if body in stamps.seen[r]
        )
        final = _settle(chains, remaining, old, total, 2.0, _scaled(m, 10.0, 0.5))
    finally:
        chains.close()

    def reached(share: float) -> float | str:
        needed = max(1, round(share * len(pairs)))
        return 1000 * arrived[needed - 1] if len(arrived) >= needed else "not reached"

    return {
        "case": f"rotation after removing 1 of {world.n}: {m} members rotate",
        "all_rotated_ms": 1000 * rotated,
        "new_chains_everywhere_no_sends": f"{quiet.pairs}/{total}",
        "keys_no_sends_ms": 1000 * keys_quiet,
        "sends_start_ms": 1000 * (sends - start),
        "sends_took_ms": 1000 * (posted - sends),
        "one_message_each_50pct_ms": reached(0.5),
        "one_message_each_90pct_ms": reached(0.9),
        "one_message_each_all_ms": reached(1.0),
        "messages_arrived": f"{len(arrived)}/{len(pairs)}",
        "new_chains_everywhere_after": f"{final.pairs}/{total}",
        "load": load(),
    }


def _settle(
    chains: ChainReader,
    members: list[str],
    old: dict[str, bytes | None],
    total: int,
    quiet_s: float,
    timeout: float,
) -> Held:
    """Read the chains until all are everywhere or nothing changed for ``quiet_s``."""
    deadline = time.monotonic() + timeout
    held = chains.count(members, old)
    changed = time.monotonic()
    while held.pairs < total and time.monotonic() - changed < quiet_s:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)  # a reading interval, not a synchronisation: the nodes run on
        now = chains.count(members, old)
        if now.pairs != held.pairs:
            changed = time.monotonic()
        held = now
    return held


# -- one size, and the run ---------------------------------------------------------


def run_size(n: int, args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    """Everything at one size; on failure, where it stopped and the machine then."""
    result: dict[str, Any] = {"size": n, "rows": [], "stage": "setup"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp), n, log)
        reader: EventReader | None = None
        try:
            world.build(args.start_parallel)
            result["rss_after_start_mib"] = rss_summary(world.pids())
            result["stage"] = "online"
            world.all_online(_scaled(n, 20.0, 2.0))
            log(f"  all online in {world.timings['all_online_s']:.1f} s ({load()} load)")
            reader = EventReader(world.nodes, _scaled(n, 10.0, 0.5))
            stamps = reader.stamps
            result["stage"] = "group"
            group = _create(world, stamps)
            log(f"  every member joined in {world.timings['group_joined_s']:.1f} s ({load()} load)")
            result["rss_after_group_mib"] = rss_summary(world.pids())
            result["stage"] = "anchor"
            result["rows"].append(_anchor(world, stamps, args.messages))
            result["stage"] = "messages"
            grouped = _group_messages(world, stamps, group, args.messages, args.senders)
            grouped["p50_vs_anchor"] = grouped["all_p50_ms"] / result["rows"][0]["all_p50_ms"]
            result["rows"].append(grouped)
            result["bytes_per_member"] = _bytes(group)
            result["rss_after_messages_mib"] = rss_summary(world.pids())
            result["rss_per_node_mib"] = [round(rss_mib(p), 1) for p in world.pids()]
            result["server_rss_mib"] = (
                round(rss_mib(world.server.proc.pid), 1) if world.server else None
            )
            result["stage"] = "rotation"
            result["rows"].append(_rotation(world, stamps, group))
            result["rss_after_rotation_mib"] = rss_summary(world.pids())
            result["rss_per_node_after_rotation_mib"] = [round(rss_mib(p), 1) for p in world.pids()]
            result["stage"] = "done"
        except Exception as exc:  # a bench reports its failures with their numbers
            result["error"] = f"{type(exc).__name__}: {exc}"
            result["traceback"] = traceback.format_exc(limit=4)
            with contextlib.suppress(Exception):
                result["rss_at_failure_mib"] = rss_summary(
                    [p for p in world.pids() if Path(f"/proc/{p}").exists()]
                )
            log(f"  FAILED at {result['stage']}: {result['error']}")
        finally:
            result["load_at_end"] = load()
            result["mem_available_mib"] = round(mem_available_mib())
            result["timings_s"] = {k: round(v, 2) for k, v in world.timings.items()}
            if reader is not None:
                reader.close()
            world.close()
    result["run_s"] = round(time.perf_counter() - started, 1)
    return result


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="group sizes, e.g. 4,16,32")
    p.add_argument("--messages", type=int, default=MESSAGES, help="messages per case")
    p.add_argument("--senders", type=int, default=SENDERS, help="members who send, in turn")
    p.add_argument("--start-parallel", type=int, default=START_PARALLEL)
    args = p.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s]
    except ValueError:
        p.error("--sizes takes numbers separated by commas, e.g. 4,16,32")
    if not args.sizes or any(s < 3 or s > 32 for s in args.sizes):
        p.error("each size must be from 3 to 32 (a group holds at most 32 members)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    os.environ["KITH_ARGON2_PROFILE"] = "test"  # identities made on several threads at once

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    started = time.perf_counter()
    results = []
    for n in args.sizes:
        log(f"size {n} (load {load()}, {mem_available_mib():.0f} MiB available)")
        results.append(run_size(n, args, log))
    rows = [row | {"size": r["size"]} for r in results for row in r["rows"]]
    messages = [r for r in rows if "all_p50_ms" in r]
    for r in results:
        if "error" in r:
            messages.append({"case": f"size {r['size']} FAILED at {r['stage']}", "size": r["size"]})
    report(
        "bench_groups_nodes",
        messages,
        {
            "rotations": [r for r in rows if "all_rotated_ms" in r],
            "sizes": results,
            "messages": args.messages,
            "senders": args.senders,
            "cpus": os.cpu_count(),
            "kith_source": _source(),
            "run_s": round(time.perf_counter() - started, 1),
            "load": os.getloadavg(),
        },
    )
    print()
    _table([r for r in rows if "all_rotated_ms" in r])
    print()
    _table([_size_row(r) for r in results])
    print(f"run {time.perf_counter() - started:.0f} s, load {os.getloadavg()}")


def _source() -> str:
    """Where the nodes' code came from (a ``COMMIT`` file beside an exported ``src``)."""
    root = Path(kith.__file__).resolve().parents[2]
    commit = root / "COMMIT"
    return f"{root}" + (f" at {commit.read_text().strip()}" if commit.exists() else "")


def _size_row(r: dict[str, Any]) -> dict[str, Any]:
    wire = r.get("bytes_per_member") or {}
    rss = r.get("rss_after_rotation_mib") or r.get("rss_at_failure_mib") or {}
    return {
        "size": r["size"],
        "reached": r["stage"],
        "run_s": r["run_s"],
        "nodes_start_s": r["timings_s"].get("nodes_start_s", ""),
        "rss_start_med": (r.get("rss_after_start_mib") or {}).get("median", ""),
        "rss_end_med": rss.get("median", ""),
        "rss_end_max": rss.get("max", ""),
        "rss_end_total": rss.get("total", ""),
        "server_rss": r.get("server_rss_mib", ""),
        "bytes_payload": wire.get("payload_total", ""),
        "bytes_wire_est": wire.get("wire_estimate_total", ""),
        "load_end": r["load_at_end"],
        "error": r.get("error", ""),
    }


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    for line in [columns, *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


if __name__ == "__main__":
    main()
