"""Node scale benchmark: one node with 10, 1,000 and 5,000 contacts.

Run: ``.venv/bin/python bench/bench_scale_node.py [--quick] [--sizes 10,1000] [--changes N]``.

For each size a fresh child process (this script with ``--case N``) sets up
and measures one node A, so each size starts from a clean heap:

- a real ``kith-signal`` subprocess on 127.0.0.1 (free port) with raised
  limits: each contact costs A one presence subscription, one relay-inbox
  subscription and one publication, and a status change publishes to every
  contact at once, more than the default topics and rate allow;
- node B, a real ``kith run --no-browser`` subprocess, a mutual contact of A;
- node A runs in the child's own asyncio loop (``kith.node.Node.start``, as
  ``kith run`` builds it), with N-1 synthetic contacts (random Ed25519
  identities) written straight into its store in one transaction. A 5 ms
  ticker in the same loop records how late it wakes (the loop stall).

Figures per size:

- start to connected: ``Node.start`` until A's ``GET /api/status`` reports
  connection ``connected``; RSS of the child (A, the bench's HTTP client)
  once the start-up publish burst has settled;
- visible on B: from ``PUT /api/status`` on A's local API (what
  ``kith status set`` does) until B's ``/api/events`` WebSocket shows A's new
  status and text; statuses cycle busy, away, online, each change waits for
  the previous one to arrive. Includes the presence manager's 100 ms
  coalescing window, by design;
- A's CPU per change: ``time.process_time()`` of the child (all threads, so
  the store worker too; B and the server are other processes) from the PUT
  until A is quiet again, minus the idle rate measured before the changes
  (ticker, heartbeats); also per contact;
- the longest loop stall during a change (the same window);
- the bare anchor, in the same process: sealing one record per contact with
  ``kith_proto`` alone (the floor of any status change), and A's CPU per
  change as a multiple of it.

Identities use the test Argon2id profile, so start-up is not dominated by the
key derivation (``bench_foundation.py`` measures that).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp

from benchlib import percentile, report
from kith.account import create_account, open_store
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel, PresenceRecord, PresenceStatus

PASSPHRASE = "benchmark passphrase"
SIZES = (10, 1000, 5000)
QUICK_SIZES = (10, 200)
STATUSES = ("busy", "away", "online")
TICK_S = 0.005
# Per contact: a presence subscription and a relay inbox (subscriptions), one
# publication; a change publishes to every contact within a moment.
SERVER_FLAGS = ("--max-topics", "40000", "--rate", "100000", "--burst", "200000")
TARGET_US_PER_CONTACT = 40.0
TARGET_VISIBLE_RATIO = 1.5
TARGET_STALL_MS = 50.0
RESULT_FILE = "result.json"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(KITH_PASSPHRASE=PASSPHRASE, KITH_ARGON2_PROFILE="test")
    return env


# -- one case (runs in a child process) ------------------------------------------


class Child:
    """A subprocess whose output is read in the background until a line matches."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, name: str, args: list[str], ready: str, within_s: float) -> Child:
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=_env(),
        )  # fmt: skip
        child = cls(name, proc)
        try:
            await asyncio.wait_for(child._ready(ready), within_s)
        except BaseException:
            await child.stop()
            raise
        return child

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines = [*self.lines[-200:], raw.decode(errors="replace").rstrip()]

    async def _ready(self, needle: str) -> str:
        while True:
            for line in self.lines:
                if needle in line:
                    return line
            if self.proc.returncode is not None:
                tail = "\n".join(self.lines[-20:])
                raise RuntimeError(f"{self.name} exited before it was ready:\n{tail}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await asyncio.wait_for(self.proc.wait(), 5)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class StallMeter:
    """A ticker every 5 ms that keeps the worst lateness since the last :meth:`take`."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK_S
            await asyncio.sleep(TICK_S)
            self.worst = max(self.worst, loop.time() - due)

    def take(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst


class Watcher:
    """Reads B's ``/api/events`` and notes when each of A's statuses arrived."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, contact: str) -> None:
        self.ws = ws
        self.contact = contact
        self.seen: dict[str, float] = {}
        self.connected = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            event = json.loads(msg.data)
            if event.get("type") == "connection":
                self.connected = event["state"] == "connected"
            elif event.get("type") == "presence" and event["id"] == self.contact:
                key = f"{event['status']}|{event['status_text']}"
                self.seen.setdefault(key, time.perf_counter())
            self._changed.set()

    async def wait(self, status: str, text: str, within_s: float) -> float:
        """Return when B saw ``status``/``text`` for A (``perf_counter``)."""
        key = f"{status}|{text}"
        deadline = time.monotonic() + within_s
        while key not in self.seen:
            if self._task.done():
                raise RuntimeError("B's event stream closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"B did not see A {key!r} within {within_s:.0f} s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return self.seen[key]

    async def wait_connected(self, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while not self.connected:
            if time.monotonic() > deadline:
                raise TimeoutError("B did not connect")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def rss_mib() -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    assert match
    return int(match.group(1)) / 1024


async def quiet(idle_rate: float, within_s: float, window: float = 0.1) -> None:
    """Wait until two windows in a row use no more CPU than idle (+2 ms slack)."""
    deadline, calm = time.monotonic() + within_s, 0
    allowed = idle_rate * window + 0.002
    while calm < 2 and time.monotonic() < deadline:
        cpu0 = time.process_time()
        await asyncio.sleep(window)
        calm = calm + 1 if time.process_time() - cpu0 <= allowed else 0


def make_identity(path: Path, url: str, keys: IdentityKeys, contacts: list[IdentityKeys]) -> None:
    secret = FixedPassphrase(PASSPHRASE)
    data_dir = DataDir(path)
    create_account(
        data_dir, name=path.name, protection=Protection.PASSPHRASE, passphrases=secret, keys=keys
    )
    now = time.time()
    with open_store(data_dir, secret) as store, store.transaction():
        store.settings.set("signaling_url", url, now)
        for peer in contacts:
            store.contacts.add(peer.kith_id, peer.public_key, None, now)


def _logger() -> logging.Logger:
    log = logging.getLogger("kith.bench.node_a")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s node A: %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
    log.setLevel(logging.WARNING)
    log.propagate = False
    return log


class Case:
    """One size: server, B, in-process A, then the measured changes."""

    def __init__(self, root: Path, contacts: int, changes: int, heartbeat: float) -> None:
        self.root = root
        self.contacts = contacts
        self.changes = changes
        self.heartbeat = heartbeat
        self.result: dict[str, Any] = {"contacts": contacts, "complete": False}
        self.latencies: list[float] = []
        self.cpus: list[float] = []
        self.stalls: list[float] = []
        self.meter = StallMeter()

    def save(self) -> None:
        """Write what is measured so far (the parent reads it even after a timeout)."""
        r = self.result
        r["changes_done"] = len(self.latencies)
        if self.latencies:
            cpu_ms = statistics.median(self.cpus) * 1000
            r.update(
                visible_p50_ms=percentile(self.latencies, 50) * 1000,
                visible_p99_ms=percentile(self.latencies, 99) * 1000,
                cpu_ms_per_change=cpu_ms,
                cpu_us_per_contact=cpu_ms * 1000 / self.contacts,
                cpu_vs_anchor=cpu_ms / max(r.get("anchor_seal_ms", 0.0), 1e-6),
                cpu_ms_max=max(self.cpus) * 1000,
                stall_max_ms=max(self.stalls) * 1000,
                stall_p50_ms=percentile(self.stalls, 50) * 1000,
                samples={"visible_s": self.latencies, "cpu_s": self.cpus, "stall_s": self.stalls},
            )
        tmp = self.root / (RESULT_FILE + ".tmp")
        tmp.write_text(json.dumps(r))
        tmp.replace(self.root / RESULT_FILE)

    def anchor(self) -> None:
        """The bare floor of one change, measured in this process: sealing one
        record per contact with ``kith_proto`` and nothing else."""
        me = IdentityKeys(os.urandom(32))
        channels = [
            PairChannel(me, IdentityKeys(os.urandom(32)).public_key) for _ in range(self.contacts)
        ]
        record = PresenceRecord(PresenceStatus.BUSY, "", 1, 1)
        runs = []
        for _ in range(5):
            start = time.process_time()
            for channel in channels:
                channel.seal(record)
            runs.append(time.process_time() - start)
        self.result["anchor_seal_ms"] = statistics.median(runs) * 1000

    async def run(self) -> dict[str, Any]:
        self.anchor()
        hb = ("--heartbeat-interval", str(self.heartbeat), "--heartbeat-timeout", "10")
        server = await Child.start(
            "kith-signal",
            [sys.executable, "-m", "kith_signal.cli", "--port", "0", *SERVER_FLAGS, *hb],
            "listening",
            30,
        )
        try:
            line = next(x for x in server.lines if "listening" in x)
            match = re.search(r" public_url=(\S+)", line)
            assert match, line
            return await self._with_server(match.group(1))
        finally:
            await server.stop()

    async def _with_server(self, url: str) -> dict[str, Any]:
        a_keys, b_keys = IdentityKeys.generate(), IdentityKeys.generate()
        others = [IdentityKeys(os.urandom(32)) for _ in range(self.contacts - 1)]
        t0 = time.perf_counter()
        make_identity(self.root / "a", url, a_keys, [b_keys, *others])
        make_identity(self.root / "b", url, b_keys, [a_keys])
        self.result["setup_s"] = time.perf_counter() - t0
        hb = ("--heartbeat-interval", str(self.heartbeat), "--heartbeat-timeout", "10")
        b = await Child.start(
            "node B",
            [
                sys.executable, "-m", "kith.cli.main", "--data-dir", str(self.root / "b"),
                "run", "--no-browser", *hb,
            ],
            "local API at",
            60,
        )  # fmt: skip
        try:
            info = json.loads((self.root / "b" / "node.json").read_text())
            headers = {"Authorization": f"Bearer {info['token']}"}
            timeout = aiohttp.ClientTimeout(total=30)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.ws_connect(f"{info['url']}/api/events", headers=headers) as ws,
            ):
                watcher = Watcher(ws, a_keys.kith_id)
                try:
                    await watcher.wait_connected(30)
                    await self._with_b(session, watcher)
                finally:
                    await watcher.close()
        finally:
            await b.stop()
        self.result["complete"] = True
        self.save()
        return self.result

    async def _with_b(self, session: aiohttp.ClientSession, watcher: Watcher) -> None:
        meter = self.meter
        ticker = asyncio.create_task(meter.run())
        rss_before = rss_mib()
        options = NodeOptions(heartbeat_interval=self.heartbeat, heartbeat_timeout=10.0)
        t0 = time.perf_counter()
        node = await asyncio.wait_for(
            Node.start(DataDir(self.root / "a"), FixedPassphrase(PASSPHRASE), options, _logger()),
            300,
        )
        try:
            api_s = time.perf_counter() - t0
            api = node.runtime
            headers = {"Authorization": f"Bearer {api.token}"}
            await self._connected(session, f"{api.base_url}/api/status", headers, 300)
            self.result.update(
                start_to_api_s=api_s,
                start_to_connected_s=time.perf_counter() - t0,
                start_stall_max_ms=meter.take() * 1000,
            )
            await watcher.wait("online", "", 300)
            self.result["start_to_visible_on_b_s"] = time.perf_counter() - t0
            await quiet(0.1, 300)  # the start-up burst (subscriptions, publications)
            self.result.update(rss_mib=rss_mib(), rss_growth_mib=rss_mib() - rss_before)
            cpu0, w0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(2.0)
            idle = (time.process_time() - cpu0) / (time.perf_counter() - w0)
            self.result["idle_cpu_pct"] = idle * 100
            self.save()
            for i in range(self.changes):
                await self._change(session, f"{api.base_url}/api/status", headers, watcher, i, idle)
                self.save()
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await asyncio.wait_for(node.stop(), 60)

    async def _connected(
        self, session: aiohttp.ClientSession, url: str, headers: dict[str, str], within_s: float
    ) -> None:
        deadline = time.monotonic() + within_s
        while True:
            async with session.get(url, headers=headers) as r:
                r.raise_for_status()
                if (await r.json())["connection"] == "connected":
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("node A did not connect")
            await asyncio.sleep(0.01)

    async def _change(
        self,
        session: aiohttp.ClientSession,
        url: str,
        headers: dict[str, str],
        watcher: Watcher,
        i: int,
        idle: float,
    ) -> None:
        status, text = STATUSES[i % len(STATUSES)], f"change {i}"
        limit = max(60.0, self.contacts * 0.02)
        self.meter.take()
        cpu0, t0 = time.process_time(), time.perf_counter()
        async with session.put(url, json={"status": status, "text": text}, headers=headers) as r:
            r.raise_for_status()
        seen = await watcher.wait(status, text, limit)
        await quiet(idle, limit)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        self.latencies.append(seen - t0)
        self.cpus.append(max(0.0, cpu - idle * wall))
        self.stalls.append(self.meter.take())


def run_case(root: Path, contacts: int, changes: int, heartbeat: float) -> int:
    """Measure one size in this process; the figures go to ``root/result.json``."""
    os.environ["KITH_ARGON2_PROFILE"] = "test"
    case = Case(root, contacts, changes, heartbeat)
    try:
        asyncio.run(case.run())
    except BaseException as exc:
        case.result["error"] = repr(exc)
        case.save()
        raise
    return 0


# -- the parent: one child per size, then the table ---------------------------------


def spawn_case(
    contacts: int, changes: int, heartbeat: float, timeout: float
) -> tuple[dict[str, Any], float]:
    """Run one size in a child process (own session, so it can be stopped whole)."""
    root = Path(tempfile.mkdtemp(prefix=f"kith-bench-scale-{contacts}-"))
    args = [
        sys.executable, str(Path(__file__).resolve()), "--case", str(contacts),
        "--changes", str(changes), "--heartbeat", str(heartbeat), "--dir", str(root),
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"{contacts:,} contacts: stopped after {timeout:.0f} s", file=sys.stderr)
            _stop_group(proc)
            error = f"stopped after {timeout:.0f} s"
        else:
            error = f"exit status {proc.returncode}"
        result_file = root / RESULT_FILE
        result: dict[str, Any] = json.loads(result_file.read_text()) if result_file.exists() else {}
        result.setdefault("contacts", contacts)
        if not result.get("complete"):
            result.setdefault("error", error)
        return result, time.monotonic() - started
    finally:
        if proc.poll() is None:
            _stop_group(proc)
        shutil.rmtree(root, ignore_errors=True)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def row_of(result: dict[str, Any], elapsed: float) -> dict[str, Any]:
    def num(key: str) -> float | str:
        value = result.get(key)
        return round(float(value), 3) if isinstance(value, int | float) else "-"

    done, wanted = result.get("changes_done", 0), result.get("changes_wanted", "?")
    return {
        "contacts": result["contacts"],
        "changes": f"{done}/{wanted}",
        "start_to_connected_s": num("start_to_connected_s"),
        "rss_mib": num("rss_mib"),
        "visible_p50_ms": num("visible_p50_ms"),
        "visible_p99_ms": num("visible_p99_ms"),
        "cpu_ms_per_change": num("cpu_ms_per_change"),
        "cpu_us_per_contact": num("cpu_us_per_contact"),
        "anchor_seal_ms": num("anchor_seal_ms"),
        "cpu_vs_anchor": num("cpu_vs_anchor"),
        "stall_max_ms": num("stall_max_ms"),
        "run_s": round(elapsed, 1),
        "note": "error: " + str(result["error"])[:60] if "error" in result else "",
    }


def targets(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets beside the measured figures."""
    by = {r["contacts"]: r for r in results if "cpu_us_per_contact" in r}
    out: list[dict[str, Any]] = []
    if by:
        big = by[max(by)]
        per = big["cpu_us_per_contact"]
        out.append({
            "target": f"CPU per change at {max(by):,} contacts "
            f"< {TARGET_US_PER_CONTACT:g} us/contact",
            "measured": f"{per:.1f} us/contact",
            "ok": per < TARGET_US_PER_CONTACT,
        })  # fmt: skip
    sized = sorted(n for n in by if n >= 100)
    if len(sized) >= 2:
        lo, hi = by[sized[0]]["cpu_us_per_contact"], by[sized[-1]]["cpu_us_per_contact"]
        out.append({
            "target": f"CPU per change grows linearly ({sized[0]:,} -> {sized[-1]:,} contacts)",
            "measured": f"us/contact x{hi / lo:.2f} for x{sized[-1] / sized[0]:g} contacts",
            "ok": hi / lo < 1.5,
        })  # fmt: skip
    mid = 1000 if 1000 in by else (sized[-1] if sized else None)
    if min(by, default=None) is not None and mid is not None and mid != min(by):
        small, large = by[min(by)]["visible_p50_ms"], by[mid]["visible_p50_ms"]
        out.append({
            "target": f"visible on B at {mid:,} contacts within {TARGET_VISIBLE_RATIO:g}x "
            f"of {min(by)} contacts (p50)",
            "measured": f"{large:.0f} ms vs {small:.0f} ms (x{large / small:.2f})",
            "ok": large <= TARGET_VISIBLE_RATIO * small,
        })  # fmt: skip
    if by:
        worst = max(r["stall_max_ms"] for r in by.values())
        out.append({
            "target": f"no loop stall over {TARGET_STALL_MS:g} ms during a change",
            "measured": f"worst {worst:.1f} ms",
            "ok": worst <= TARGET_STALL_MS,
        })  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Kith node scale benchmark")
    parser.add_argument("--quick", action="store_true", help="10 and 200 contacts, 5 changes")
    parser.add_argument("--sizes", help="comma-separated contact counts (default 10,1000,5000)")
    parser.add_argument("--changes", type=int, help="status changes per size (default 20)")
    parser.add_argument("--heartbeat", type=float, default=2.0, help="heartbeat interval, s")
    parser.add_argument(
        "--case-timeout", type=float, default=900.0, help="seconds allowed per size"
    )
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    changes = args.changes or (5 if args.quick else 20)
    if args.case is not None:
        return run_case(Path(args.dir), args.case, changes, args.heartbeat)
    sizes: tuple[int, ...] = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(x) for x in args.sizes.split(","))
    results, rows = [], []
    for n in sizes:
        print(f"{n:,} contacts ...", file=sys.stderr, flush=True)
        result, elapsed = spawn_case(n, changes, args.heartbeat, args.case_timeout)
        result["changes_wanted"] = changes
        results.append(result)
        rows.append(row_of(result, elapsed))
    checks = targets(results)
    print()
    for check in checks:
        verdict = "ok  " if check["ok"] else "MISS"
        print(f"{verdict}  {check['target']}: {check['measured']}")
    print()
    report(
        "scale_node",
        rows,
        {
            "targets": checks,
            "cases": results,
            "server_flags": list(SERVER_FLAGS),
            "heartbeat_interval_s": args.heartbeat,
            "changes_per_size": changes,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
