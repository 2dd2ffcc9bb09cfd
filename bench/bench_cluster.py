"""Presence fan-out through a cluster of ``kith-signal`` processes and Redis.

The same load (users with 50 contacts each, random status changes at a fixed
rate, each change one ``publish_batch`` over the user's topics, as the node
sends it) runs against one process without Redis (the anchor, in the same
run), then two and three processes sharing one redis-server. Load generator
worker ``w`` connects its users to process ``w mod P`` (``signal_loadgen.py``:
user ``i`` belongs to worker ``i mod W``, its contacts are ``i ± 1..25``), so
most contacts are on another process. Reported: fan-out p50/p99 and their
ratio to the anchor, Redis commands and bytes per status change, CPU of Redis
beside the servers, and the time until a process killed with -9 has its
users announced gone (with the default ``--cluster-ttl`` and
``--cluster-beat``).

Run: ``.venv/bin/python bench/bench_cluster.py`` (``--quick``: 1k users).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis

from benchlib import percentile, report
from kith_testkit.redis_server import RedisServer
from loadgen_workers import Workers

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else 0.0


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class Process:
    """One ``kith-signal``; its log is drained in a thread."""

    def __init__(self, flags: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kith_signal.cli", "--port", "0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.url = ""
        threading.Thread(target=self._drain, daemon=True).start()
        self.wait_for("event=listening", 1, 30)
        line = next(line for line in self.lines if "event=listening" in line)
        match = re.search(r" public_url=(\S+)", line)
        assert match, line
        self.url = match.group(1)

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, needle: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while sum(needle in line for line in self.lines) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"kith-signal: no {needle!r}:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def events(workers: Workers, kind: str = "event", among: list[int] | None = None) -> int:
    answers = workers.all("count")
    chosen = range(len(answers)) if among is None else among
    return sum(int(answers[i]["counts"].get(kind, 0)) for i in chosen)


def wait_events(workers: Workers, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        got = events(workers)
        if got >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def redis_stats(client: redis.Redis) -> tuple[int, int]:
    """(commands processed, network bytes in + out) of the redis-server so far."""
    info: dict[str, Any] = client.info("stats")
    traffic = int(info["total_net_input_bytes"]) + int(info["total_net_output_bytes"])
    return int(info["total_commands_processed"]), traffic


def server_flags(users: int, contacts: int) -> list[str]:
    return [
        *("--max-connections", str(users + 1000), "--max-connections-per-address", "0"),
        *("--max-retained-bytes", "4G", "--rate", str(max(20, 4 * contacts))),
        *("--burst", str(max(40, 4 * contacts))),
    ]


def run(processes: int, args: argparse.Namespace, root: Path, *, kill: bool) -> dict[str, Any]:
    """One configuration: ``processes`` servers (0 Redis when 1 and ``--anchor``)."""
    users = args.users
    redis_server = None
    flags = server_flags(users, args.contacts)
    if processes > 1:
        redis_server = RedisServer(root / f"redis-{processes}")
        redis_server.start()
        secret = root / "secret"
        secret.write_text(secrets.token_hex(32))
        flags += ["--redis", redis_server.url, "--cluster-secret-file", str(secret)]
    servers = [Process(flags) for _ in range(processes)]
    if redis_server is not None:
        for server in servers:
            server.wait_for("event=redis_up", 1, 30)
    count = max(2, processes)
    workers = Workers([s.url for s in servers], count, users, args.contacts)
    result: dict[str, Any] = {"processes": processes, "redis": redis_server is not None}
    try:
        started = time.monotonic()
        answers = workers.all("connect", upto=users // count + 1, concurrency=50)
        result["connected"] = sum(a["connected"] for a in answers)
        result["connect_s"] = round(time.monotonic() - started, 1)
        workers.all("subscribe")
        published = sum(a["publishes"] for a in workers.all("publish_all"))
        result["initial_events"] = wait_events(workers, published, 180)
        result["initial_missing"] = published - result["initial_events"]
        client = redis_server.client() if redis_server is not None else None
        stats_before = redis_stats(client) if client is not None else (0, 0)
        pids = [s.proc.pid for s in servers]
        cpu_before = [cpu_seconds(p) for p in pids]
        redis_pid = redis_server.proc.pid if redis_server and redis_server.proc else None
        redis_cpu_before = cpu_seconds(redis_pid) if redis_pid else 0.0
        load_before = load_average()
        wall = time.monotonic()
        answers = workers.all("churn", rate=args.changes / count, seconds=args.seconds)
        wall = time.monotonic() - wall
        changes = sum(a["changes"] for a in answers)
        churned = sum(a["publishes"] for a in answers)
        expected = result["initial_events"] + churned
        received = wait_events(workers, expected, 20) - result["initial_events"]
        collected = workers.all("collect")
        latencies = [x for a in collected for x in a["latencies"]]
        result |= {
            "status_changes": changes,
            "churn_publishes": churned,
            "churn_events": received,
            "missing_events": max(0, churned - received),
            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
            "servers_cpu_pct": [
                round(100 * (cpu_seconds(p) - b) / wall, 1)
                for p, b in zip(pids, cpu_before, strict=True)
            ],
            "load_average_1m": [load_before, load_average()],
            "servers_rss_mib": [rss_mib(p) for p in pids],
        }
        if client is not None and redis_pid is not None:
            commands, traffic = redis_stats(client)
            result["redis_cpu_pct"] = round(
                100 * (cpu_seconds(redis_pid) - redis_cpu_before) / wall, 1
            )
            result["redis_commands_per_change"] = round((commands - stats_before[0]) / changes, 1)
            result["redis_bytes_per_change"] = round((traffic - stats_before[1]) / changes)
            result["redis_keys"] = client.dbsize()
            result["redis_used_memory_mib"] = round(
                int(client.info("memory")["used_memory"]) / 2**20,
                1,
            )
        if kill and processes > 1:
            result |= recovery(servers, workers, count)
    finally:
        result["server_redis_log"] = [
            line
            for server in servers
            for line in server.lines
            if any(f"event={e}" in line for e in ("redis", "refresh_late", "reap"))
        ][:80]
        workers.stop()
        for server in servers:
            server.stop()
        if redis_server is not None:
            redis_server.kill()
    return result


def recovery(servers: list[Process], workers: Workers, count: int) -> dict[str, Any]:
    """kill -9 of process 0: seconds until the others' users got the first and
    the last ``gone`` (the last: the count then stays put for 3 s)."""
    survivors = [w for w in range(count) if w % len(servers) != 0]
    before = events(workers, "gone", survivors)
    killed = time.monotonic()
    servers[0].proc.send_signal(signal.SIGKILL)
    first = last_change = None
    last = before
    while time.monotonic() - killed < 90:
        time.sleep(0.1)
        now = events(workers, "gone", survivors)
        if now != last:
            last, last_change = now, time.monotonic()
            first = first or last_change
        if last_change is not None and time.monotonic() - last_change > 3.0:
            break
    first = first or killed
    last_change = last_change or killed
    return {
        "kill9_gone_events": last - before,
        "kill9_first_gone_after_s": round(first - killed, 2),
        "kill9_all_gone_after_s": round(last_change - killed, 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="1k users, 4 s of churn")
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--contacts", type=int, default=50)
    p.add_argument("--changes", type=float, default=200.0, help="status changes per second")
    p.add_argument("--seconds", type=float, default=10.0, help="duration of the churn")
    p.add_argument("--configs", default="1,2,3", help="process counts to run (1: no Redis)")
    p.add_argument("--no-kill", action="store_true", help="skip the kill -9 recovery")
    args = p.parse_args()
    if args.quick:
        args.users, args.seconds, args.changes = 1000, 4.0, 50.0
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        for processes in (int(c) for c in args.configs.split(",")):
            results.append(run(processes, args, Path(tmp), kill=not args.no_kill))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    anchor = next((r for r in results if not r["redis"]), None)
    rows = []
    for r in results:
        row = {
            "processes": r["processes"],
            "redis": r["redis"],
            "users": r["connected"],
            "changes": r["status_changes"],
            "missing": r["missing_events"],
            "p50_ms": r["p50_ms"],
            "p99_ms": r["p99_ms"],
            "servers_cpu_pct": "+".join(str(c) for c in r["servers_cpu_pct"]),
            "servers_rss_mib": "+".join(str(m) for m in r["servers_rss_mib"]),
            "redis_cpu_pct": r.get("redis_cpu_pct", ""),
            "cmds/change": r.get("redis_commands_per_change", ""),
            "bytes/change": r.get("redis_bytes_per_change", ""),
            "kill9_s": r.get("kill9_all_gone_after_s", ""),
        }
        if anchor is not None:
            row["p50_x"] = round(r["p50_ms"] / anchor["p50_ms"], 2)
            row["p99_x"] = round(r["p99_ms"] / anchor["p99_ms"], 2)
        rows.append(row)
    report(
        "cluster_quick" if args.quick else "cluster",
        rows,
        extra={"runs": results, "config": vars(args), "cpus": os.cpu_count()},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
