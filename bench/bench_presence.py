"""Presence benchmark (issue 4): status-change latency through the real stack,
and a node's idle CPU and RSS with 1,000 contacts.

Run: ``.venv/bin/python bench/bench_presence.py [--changes N] [--idle S]``.

- Latency: a real ``kith-signal`` and two real ``kith run`` nodes, A and B,
  mutual contacts. Each of N changes is a real ``kith status set`` process on
  A; the clock starts before that process is spawned and stops when B's
  ``/api/events`` WebSocket reports the new status text. A second series
  calls A's local API directly (no CLI start-up). Both include the presence
  manager's 100 ms coalescing window, by design.
- Idle: a node whose store holds 1,000 contacts (written straight into the
  database), connected to the server; after start-up settles, CPU over S
  seconds and RSS from ``/proc``. The server runs with raised limits (topics,
  rate) because the defaults allow 1,024 topics and 20 messages/s per
  connection, less than 1,000 contacts need (see the report).

Identities use the test Argon2id profile so start-up is not dominated by the
key derivation (``bench_foundation.py`` measures that).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchlib import report, summary_ms
from kith.account import create_account, open_store
from kith.api.client import NodeBackend
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.runtime.runtime_file import RuntimeInfo, read_runtime
from kith_proto.keys import IdentityKeys

PASSPHRASE = "benchmark passphrase"
TICK = os.sysconf("SC_CLK_TCK")
IDLE_CONTACTS = 1000
BIG_LIMITS = ("--max-topics", "4096", "--rate", "2000", "--burst", "4000")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(KITH_PASSPHRASE=PASSPHRASE, KITH_ARGON2_PROFILE="test")
    return env


class Process:
    """A subprocess whose output is read in the background until a line matches."""

    def __init__(self, args: list[str], ready: str) -> None:
        self.proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=_env(),
        )  # fmt: skip
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._needle = ready
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(30):
            self.stop()
            raise SystemExit(f"{args[2]} did not start:\n" + "\n".join(self.lines[-20:]))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines = [*self.lines[-50:], line.rstrip()]
            if self._needle in line:
                self._ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(*flags: str) -> tuple[Process, str]:
    server = Process([sys.executable, "-m", "kith_signal.cli", "--port", "0", *flags], "listening")
    match = re.search(r" public_url=(\S+)", next(x for x in server.lines if "listening" in x))
    assert match
    return server, match.group(1)


def start_node(data_dir: Path) -> tuple[Process, RuntimeInfo]:
    node = Process(
        [sys.executable, "-m", "kith.cli.main", "--data-dir", str(data_dir), "run", "--no-browser"],
        "local API at",
    )
    info = read_runtime(data_dir)
    assert info is not None
    return node, info


def make_identity(path: Path, url: str, keys: IdentityKeys, contacts: list[IdentityKeys]) -> None:
    os.environ["KITH_ARGON2_PROFILE"] = "test"
    secret = FixedPassphrase(PASSPHRASE)
    data_dir = DataDir(path)
    create_account(
        data_dir, name=path.name, protection=Protection.PASSPHRASE, passphrases=secret, keys=keys
    )
    with open_store(data_dir, secret) as store, store.transaction():
        store.settings.set("signaling_url", url, time.time())
        for peer in contacts:
            store.contacts.add(peer.kith_id, peer.public_key, None, time.time())


def wait_connected(info: RuntimeInfo, timeout: float = 30) -> float:
    backend, start = NodeBackend(info), time.monotonic()
    try:
        while backend.status().connection != "connected":
            if time.monotonic() - start > timeout:
                raise SystemExit("the node did not connect")
            time.sleep(0.02)
    finally:
        backend.close()
    return time.monotonic() - start


# -- latency ---------------------------------------------------------------------


async def _visible(ws: aiohttp.ClientWebSocketResponse, contact: str, text: str) -> float:
    while True:
        event = await ws.receive_json(timeout=10)
        is_presence = event.get("type") == "presence" and event["id"] == contact
        if is_presence and event["status_text"] == text:
            return time.perf_counter()


async def _cli_change(data_dir: Path, status: str, text: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kith.cli.main", "--data-dir", str(data_dir),
        "status", "set", status, "--text", text,
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"kith status set failed: {err.decode()}")


async def _api_change(
    session: aiohttp.ClientSession, info: RuntimeInfo, status: str, text: str
) -> None:
    headers = {"Authorization": f"Bearer {info.token}"}
    body = {"status": status, "text": text}
    async with session.put(f"{info.base_url}/api/status", json=body, headers=headers) as r:
        r.raise_for_status()


async def measure_latency(
    a_dir: Path, a: RuntimeInfo, b: RuntimeInfo, a_id: str, changes: int
) -> dict[str, list[float]]:
    series: dict[str, list[float]] = {"cli": [], "api": []}
    headers = {"Authorization": f"Bearer {b.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{b.base_url}/api/events", headers=headers) as ws,
    ):
        for i in range(changes * 2):
            kind = "cli" if i < changes else "api"
            status, text = ("busy" if i % 2 else "away"), f"change {i}"
            start = time.perf_counter()
            seen = asyncio.ensure_future(_visible(ws, a_id, text))
            if kind == "cli":
                await _cli_change(a_dir, status, text)
            else:
                await _api_change(session, a, status, text)
            series[kind].append(await seen - start)
    return series


# -- idle --------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    assert match
    return int(match.group(1))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure_idle(root: Path, url: str, seconds: float) -> dict[str, Any]:
    peers = [IdentityKeys.generate() for _ in range(IDLE_CONTACTS)]
    make_identity(root / "many", url, IdentityKeys.generate(), peers)
    started = time.monotonic()
    node, info = start_node(root / "many")
    try:
        connected = wait_connected(info) + (time.monotonic() - started)
        time.sleep(3.0)  # let the initial subscribe/publish burst finish
        pid = node.proc.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) * 100
        return {
            "case": f"idle node, {IDLE_CONTACTS} contacts",
            "start_to_connected_s": round(connected, 2),
            "idle_cpu_pct": round(cpu, 2),
            "rss_mib": round(rss_kib(pid) / 1024, 1),
            "idle_window_s": seconds,
        }
    finally:
        node.stop()


def latency_rows(root: Path, url: str, changes: int) -> list[dict[str, Any]]:
    a_keys, b_keys = IdentityKeys.generate(), IdentityKeys.generate()
    make_identity(root / "a", url, a_keys, [b_keys])
    make_identity(root / "b", url, b_keys, [a_keys])
    (a, a_info), (b, b_info) = start_node(root / "a"), start_node(root / "b")
    try:
        wait_connected(a_info)
        wait_connected(b_info)
        series = asyncio.run(measure_latency(root / "a", a_info, b_info, a_keys.kith_id, changes))
    finally:
        a.stop()
        b.stop()
    return [
        {"case": "`kith status set` process on A -> visible on B", **summary_ms(series["cli"])},
        {"case": "A's API PUT /api/status -> visible on B", **summary_ms(series["api"])},
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="Kith presence benchmark")
    parser.add_argument("--changes", type=int, default=200, help="status changes per series")
    parser.add_argument("--idle", type=float, default=20.0, help="idle measurement seconds")
    args = parser.parse_args()
    server, url = start_server(*BIG_LIMITS)
    try:
        with tempfile.TemporaryDirectory(prefix="kith-bench-presence-") as tmp:
            rows = latency_rows(Path(tmp), url, args.changes)
            idle = measure_idle(Path(tmp), url, args.idle)
    finally:
        server.stop()
    report("presence", rows, {"idle": idle, "server_flags": list(BIG_LIMITS)})
    print("  ".join(f"{k}={v}" for k, v in idle.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
