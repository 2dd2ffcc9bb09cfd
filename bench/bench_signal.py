"""Signaling server benchmark: memory per connection, connect+auth rate,
presence fan-out latency under load (issue 3).

Run: ``.venv/bin/python bench/bench_signal.py [--quick]``. It starts one real
``kith-signal`` on 127.0.0.1 (port 0) and a load generator spread over two
worker processes (``signal_loadgen.py``; each raises its own open-file soft
limit). The server's RSS and CPU come from ``/proc/PID``, reported apart from
the generator's. Everything stops by itself: bounded connection counts,
bounded durations, timeouts on every wait.

By default the server runs twice, on uvloop and on asyncio's loop
(``--loops``), and the CPU per delivery of each is reported. ``--capacity``
searches the highest change rate one process sustains instead of one churn
(``signal_capacity.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib
import signal_bare_relay
import signal_capacity
import signal_loadgen
from benchlib import percentile, report
from loadgen_workers import Workers

HERE = Path(__file__).resolve().parent
WORKERS = 2
TICK = os.sysconf("SC_CLK_TCK")


# -- /proc ---------------------------------------------------------------


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (VmRSS)."""
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used by ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class CpuMeter:
    """CPU use of some processes over one phase, as % of one core."""

    pids: list[int]
    started: float = 0.0
    cpu: float = 0.0

    def start(self) -> CpuMeter:
        self.started = time.monotonic()
        self.cpu = sum(cpu_seconds(p) for p in self.pids)
        return self

    def percent(self) -> float:
        wall = time.monotonic() - self.started
        used = sum(cpu_seconds(p) for p in self.pids) - self.cpu
        return round(100 * used / wall, 1) if wall > 0 else 0.0


class CpuSampler:
    """Samples one process's CPU % every second, for ``seconds``, in a thread."""

    def __init__(self, pid: int, seconds: float) -> None:
        self.samples: list[float] = []
        self._pid, self._seconds = pid, seconds
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        meter = CpuMeter([self._pid]).start()
        for _ in range(int(self._seconds)):
            time.sleep(1.0)
            try:
                self.samples.append(meter.percent())
                meter.start()
            except OSError:
                return


# -- processes -------------------------------------------------------------


def _raise_nofile() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """The ``kith-signal`` process under test (through ``signal_gctrace.py``,
    which only adds a log line for every long collector pause)."""

    def __init__(self, flags: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "signal_gctrace.py"), "--port", "0", *flags],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_raise_nofile,
        )
        self.lines = 0
        self.gc_pauses_ms: list[float] = []
        self.young_pauses_ms: list[float] = []
        self.heap_trims: list[dict[str, float]] = []
        self.tail: list[str] = []
        self.loop = "unknown"
        self._url: str | None = None
        self._listening = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._listening.wait(15):
            self.stop()
            raise SystemExit("kith-signal did not start:\n" + "\n".join(self.tail))

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines += 1
            self.tail = [*self.tail[-20:], line.rstrip()]
            if line.startswith("event=gc_types"):
                print(line.rstrip(), file=sys.stderr)
            if line.startswith("event=gc_pause"):
                self.gc_pauses_ms.append(float(line.rsplit("ms=", 1)[1]))
            elif line.startswith("event=gc_young_pause"):
                self.young_pauses_ms.append(float(line.rsplit("ms=", 1)[1]))
            if line.startswith("ts=") and "event=heap_trim" in line:
                fields = dict(re.findall(r"(\w+)=(\S+)", line))
                self.heap_trims.append(
                    {
                        k: float(fields[k])
                        for k in ("ms", "rss_before_mib", "rss_after_mib")
                        if k in fields
                    }
                )
            if line.startswith("ts=") and "event=event_loop" in line:
                self.loop = line.rsplit("name=", 1)[1].strip()
            if self._url is None and "event=listening" in line:
                match = re.search(r" public_url=(\S+)", line)
                self._url = match.group(1) if match else None
                self._listening.set()

    def wait_for_log(self, prefix: str, timeout: float = 30.0) -> None:
        """Wait until a log line starting with ``prefix`` has been read."""
        deadline = time.monotonic() + timeout
        while not any(line.startswith(prefix) for line in self.tail):
            if time.monotonic() > deadline:
                raise SystemExit(f"kith-signal never logged {prefix}")
            time.sleep(0.05)

    @property
    def url(self) -> str:
        assert self._url is not None
        return self._url

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# -- phases ------------------------------------------------------------------


def settle_rss(pid: int) -> int:
    """RSS after a short quiet period (lets pending frees and writes finish)."""
    time.sleep(1.0)
    return rss_kib(pid)


def ramp(
    server: Server, workers: Workers, steps: list[int], concurrency: int
) -> list[dict[str, Any]]:
    """Connect users in steps; measure RSS per connection and connect rate."""
    baseline = settle_rss(server.pid)
    rows: list[dict[str, Any]] = []
    held = 0
    for step in steps:
        server_cpu, gen_cpu = CpuMeter([server.pid]).start(), CpuMeter(workers.pids).start()
        started = time.monotonic()
        answers = workers.all("connect", upto=step // WORKERS, concurrency=concurrency)
        wall = time.monotonic() - started
        connected = sum(a["connected"] for a in answers)
        failed = sum(a["failed"] for a in answers)
        cpu = (server_cpu.percent(), gen_cpu.percent())
        rss = settle_rss(server.pid)
        rows.append(
            {
                "connections": connected,
                "failed": failed,
                "server_rss_mib": round(rss / 1024, 1),
                "rss_per_conn_kib": round((rss - baseline) / max(1, connected), 2),
                "connect_auth_per_s": round((connected - held) / wall, 1),
                "server_cpu_pct": cpu[0],
                "generator_cpu_pct": cpu[1],
            }
        )
        held = connected
    return [{"baseline_rss_mib": round(baseline / 1024, 1)}, *rows]


def wait_events(workers: Workers, expected: int, timeout: float) -> int:
    """Poll the workers until ``expected`` events arrived (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        got = sum(int(a["counts"].get("event", 0)) for a in workers.all("count"))
        if got >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def fan_out(server: Server, workers: Workers, args: argparse.Namespace) -> dict[str, Any]:
    """Subscribe everyone, publish everyone's presence, then churn statuses."""
    setup = retain_presence(server, workers, args.heap_trim)
    if args.gc_freeze:
        server.proc.send_signal(signal.SIGUSR1)
        server.wait_for_log("event=gc_frozen")
    return setup | churn(server, workers, args.changes, args.seconds, setup["initial_events"])


def retain_presence(server: Server, workers: Workers, heap_trim: str) -> dict[str, Any]:
    """Everyone subscribes to their contacts and publishes their presence."""
    setup: dict[str, Any] = {}
    started = time.monotonic()
    workers.all("subscribe")
    setup["subscribe_s"] = round(time.monotonic() - started, 2)
    server_cpu = CpuMeter([server.pid]).start()
    trims_before = len(server.heap_trims)
    started = time.monotonic()
    published = sum(a["publishes"] for a in workers.all("publish_all"))
    expected = wait_events(workers, published, timeout=120)
    wall = time.monotonic() - started
    cpu = server_cpu.percent()
    settled = settle_rss(server.pid)
    # The server gives the burst's freed heap back once it settled (glibc,
    # kith_signal.heap_trim): wait for that (bounded) before measuring.
    deadline = time.monotonic() + (20 if heap_trim == "auto" else 0)
    while len(server.heap_trims) == trims_before and time.monotonic() < deadline:
        time.sleep(0.2)
    return setup | {
        "initial_publishes": published,
        "initial_events": expected,
        "bulk_publish_per_s": round(published / wall, 1),
        "bulk_server_cpu_pct": cpu,
        "retained_rss_mib_before_trim": round(settled / 1024, 1),
        "retained_rss_mib": round(settle_rss(server.pid) / 1024, 1),
        "heap_trims_after_bulk": server.heap_trims[trims_before:],
    }


def churn(
    server: Server, workers: Workers, changes: float, seconds: float, expected: int
) -> dict[str, Any]:
    """Random status changes at ``changes``/s for ``seconds``; ``expected`` is
    the count of events the workers received before."""
    server_cpu, gen_cpu = CpuMeter([server.pid]).start(), CpuMeter(workers.pids).start()
    cpu_before = cpu_seconds(server.pid)
    busy_before = machine_busy()
    pauses_before = len(server.gc_pauses_ms)
    young_before = len(server.young_pauses_ms)
    sampler = CpuSampler(server.pid, seconds + 3)
    answers = workers.all("churn", rate=changes / WORKERS, seconds=seconds)
    cpu = (server_cpu.percent(), gen_cpu.percent())
    busy_after = machine_busy()
    machine = 100 * (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    churned = sum(a["publishes"] for a in answers)
    received = wait_events(workers, expected + churned, timeout=15) - expected
    churn_cpu_s = cpu_seconds(server.pid) - cpu_before
    # Until every churn event arrived: a pause logged after the senders stopped
    # still delayed some of them.
    churn_pauses = server.gc_pauses_ms[pauses_before:]
    churn_young = server.young_pauses_ms[young_before:]
    collected = workers.all("collect")
    latencies = [x for a in collected for x in a["latencies"]]
    timeline = per_second_p99([t for a in collected for t in a["arrivals"]], latencies)
    counts: dict[str, int] = {}
    for a in collected:
        for k, v in a["counts"].items():
            counts[k] = counts.get(k, 0) + v
    errors = {k: v for k, v in counts.items() if k.startswith(("error", "bye", "lost"))}
    return {
        "status_changes": sum(a["changes"] for a in answers),
        "churn_publishes": churned,
        "churn_events": received,
        "events_received_total": expected + received,
        "missing_events": max(0, churned - received),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 99) * 1000, 2) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 2) if latencies else None,
        "errors": errors,
        "churn_server_cpu_pct": cpu[0],
        "churn_server_cpu_us_per_delivery": round(1e6 * churn_cpu_s / max(1, received), 1),
        "churn_generator_cpu_pct": cpu[1],
        "churn_machine_busy_pct_of_all_cores": round(machine, 1),
        "p99_ms_by_second": timeline,
        "server_cpu_pct_by_second": sampler.samples,
        "server_gc_pauses_ms_during_churn": churn_pauses,
        "server_gc_pauses_ms_all": list(server.gc_pauses_ms),
        "server_young_gc_pauses_ms_during_churn": churn_young,
        "server_young_gc_pauses_over_10ms": len(server.young_pauses_ms),
        "server_young_gc_pause_max_ms": max(server.young_pauses_ms, default=0.0),
        "server_gc_threshold_env": os.environ.get("KITH_GC_THRESHOLD", "default"),
        "generator_gc_pauses_ms_in_churn": [p for a in collected for p in a["gc_pauses_ms"]],
        "churn_server_rss_mib": round(rss_kib(server.pid) / 1024, 1),
    }


def capacity(server: Server, workers: Workers, args: argparse.Namespace) -> dict[str, Any]:
    """Churn at growing rates until one process no longer keeps up (bounded
    by ``--capacity-steps`` steps of ``--capacity-seconds`` each)."""
    setup = retain_presence(server, workers, args.heap_trim)
    expected, lost_before = setup["initial_events"], 0
    steps: list[signal_capacity.Step] = []
    details: list[dict[str, Any]] = []
    while (rate := _next_rate(steps, args)) is not None:
        result = churn(server, workers, rate, args.capacity_seconds, expected)
        expected = result["events_received_total"]
        lost = sum(v for k, v in result["errors"].items() if k in ("lost", "bye:slow_consumer"))
        step = signal_capacity.Step(
            changes_per_s=rate,
            deliveries_per_s=round(result["churn_events"] / args.capacity_seconds, 1),
            p99_ms=result["p99_ms"],
            missing=result["missing_events"],
            lost=lost - lost_before,
            server_cpu_pct=result["churn_server_cpu_pct"],
            generator_cpu_pct=result["churn_generator_cpu_pct"],
            machine_busy_pct=result["churn_machine_busy_pct_of_all_cores"],
        )
        lost_before = lost
        steps.append(step)
        details.append(vars(step) | {"passed": step.passed, "detail": result})
        print(
            f"capacity step {rate:g} changes/s: passed={step.passed} p99={step.p99_ms} ms "
            f"lost={step.lost} missing={step.missing} server={step.server_cpu_pct} %",
            file=sys.stderr,
            flush=True,
        )
    return setup | {"steps": details, "found": _verdict(steps)}


def _next_rate(steps: list[signal_capacity.Step], args: argparse.Namespace) -> float | None:
    return signal_capacity.next_rate(steps, args.changes, args.capacity_factor, args.capacity_steps)


def _verdict(steps: list[signal_capacity.Step]) -> dict[str, Any]:
    best, failed = signal_capacity.best(steps), signal_capacity.first_failure(steps)
    return {
        "best": None if best is None else vars(best),
        "first_failure": None if failed is None else vars(failed),
        "saturates": None if failed is None else signal_capacity.saturation(failed),
    }


def per_second_p99(arrivals: list[float], latencies: list[float]) -> list[float]:
    """p99 latency (ms) of the events that arrived in each second of the churn."""
    if not arrivals:
        return []
    start = min(arrivals)
    buckets: dict[int, list[float]] = {}
    for at, latency in zip(arrivals, latencies, strict=True):
        buckets.setdefault(int(at - start), []).append(latency)
    return [round(percentile(buckets[s], 99) * 1000, 1) for s in sorted(buckets)]


def bare_anchors(users: int, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The bare relays, same run, same connection count, same deliveries per
    second and frame sizes as the churn: server CPU per delivery."""
    payload = signal_loadgen.stamped_payload()
    rate = args.changes * args.contacts
    results: dict[str, dict[str, Any]] = {}
    for kind in signal_bare_relay.KINDS:
        if not signal_bare_relay.available(kind):
            continue
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "signal_bare_relay.py"), "serve", kind],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_raise_nofile,
        )
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline().split()[1])
            cpu = functools.partial(cpu_seconds, proc.pid)
            run = signal_bare_relay.drive(port, users, rate, args.seconds, payload, cpu)
            result = asyncio.run(run)
        finally:
            proc.kill()
            proc.wait(10)
        delivered = max(1, result["delivered"])
        result["server_cpu_us_per_delivery"] = round(1e6 * result["server_cpu_s"] / delivered, 1)
        results[kind] = result
    return results


# -- main --------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="1k users, 3 s of churn (smoke test)")
    p.add_argument("--steps", default="1000,5000,10000", help="connection counts to hold")
    p.add_argument("--contacts", type=int, default=50)
    p.add_argument("--changes", type=float, default=200.0, help="status changes per second")
    p.add_argument("--seconds", type=float, default=12.0, help="duration of the churn")
    p.add_argument("--concurrency", type=int, default=50, help="handshakes in flight per worker")
    p.add_argument(
        "--loops",
        help="kith-signal --loop values to run one after the other, the first one's "
        "figures in full (default: uvloop,asyncio when uvloop is installed; auto "
        "with --quick or --capacity)",
    )
    p.add_argument(
        "--capacity",
        action="store_true",
        help="search the highest change rate one process sustains (p99 < 100 ms, no "
        "loss), starting at --changes",
    )
    p.add_argument("--capacity-steps", type=int, default=8, help="most churn steps to try")
    p.add_argument("--capacity-seconds", type=float, default=8.0, help="duration of a step")
    p.add_argument("--capacity-factor", type=float, default=1.5, help="rate growth per step")
    p.add_argument(
        "--gc-freeze",
        action="store_true",
        help="diagnostic: gc.freeze() in the server before the churn",
    )
    p.add_argument("--results-dir", type=Path, help="write the JSON here instead of results/")
    p.add_argument("--heartbeat", type=float, default=10.0, help="server heartbeat interval")
    p.add_argument(
        "--transport",
        choices=("websockets", "picows"),
        default="websockets",
        help="kith-signal --transport (its WebSocket implementation)",
    )
    p.add_argument(
        "--heap-trim",
        choices=("auto", "off"),
        default="auto",
        help="kith-signal --heap-trim (off: measure RSS without giving freed heap back)",
    )
    args = p.parse_args()
    if args.quick:
        args.steps, args.seconds, args.changes = "1000", 3.0, 20.0
    if args.loops is None:
        both = signal_bare_relay.available("picows") and not (args.quick or args.capacity)
        args.loops = "uvloop,asyncio" if both else "auto"
    args.loops = args.loops.split(",")
    return args


def server_flags(users: int, args: argparse.Namespace) -> list[str]:
    return [
        "--max-connections",
        str(users + 1000),
        # Every simulated user connects from 127.0.0.1, and 10k users with
        # 50 contacts retain about 340 MB of presence.
        "--max-connections-per-address",
        "0",
        "--max-retained-bytes",
        "4G",
        # One status change is one publish per contact, in one burst.
        "--rate",
        str(max(20, 4 * args.contacts)),
        "--burst",
        str(max(40, 4 * args.contacts)),
        "--heartbeat-interval",
        str(args.heartbeat),
        "--heartbeat-timeout",
        str(args.heartbeat),
        "--heap-trim",
        args.heap_trim,
        "--transport",
        args.transport,
    ]


def main() -> int:
    args = parse_args()
    if args.results_dir is not None:
        benchlib.RESULTS_DIR = args.results_dir
    steps = [int(s) for s in args.steps.split(",")]
    users = steps[-1]
    phase = capacity if args.capacity else fan_out
    load_before = os.getloadavg()[0]
    runs = {loop: run_server(loop, steps, args, phase) for loop in args.loops}
    ramp_rows, result, log_lines = runs[args.loops[0]]
    _raise_nofile()
    anchors = bare_anchors(users, args)
    if args.capacity:
        rows = capacity_rows(result, anchors, args)
    else:
        rows = summary_rows(ramp_rows, result, args) + anchor_rows(result, anchors, ramp_rows)
        rows += loop_rows({loop: run[1] for loop, run in runs.items()}, anchors)
        rows.append(
            _row(
                "machine: busy in the churn / load average at start, end",
                f"{result['churn_machine_busy_pct_of_all_cores']} % / "
                f"{load_before:.1f}, {os.getloadavg()[0]:.1f}",
                "",
                "",
            )
        )
    report(
        "signal_capacity" if args.capacity else "signal_quick" if args.quick else "signal",
        rows,
        extra={
            "ramp": ramp_rows,
            "capacity" if args.capacity else "fan_out": result,
            "by_loop": {loop: {"ramp": r, "result": c} for loop, (r, c, _) in runs.items()},
            "bare_relays": anchors,
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
            | {"users": users, "server_log_lines": log_lines},
        },
    )
    return 0


def run_server(
    loop: str, steps: list[int], args: argparse.Namespace, phase: Any
) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """One ``kith-signal`` on ``loop``: the ramp, then ``phase``; the ramp's
    rows, the phase's result and the server's log line count."""
    server = Server([*server_flags(steps[-1], args), "--loop", loop])
    workers: Workers | None = None
    try:
        workers = Workers([server.url], WORKERS, steps[-1], args.contacts)
        gc.collect()
        ramp_rows = ramp(server, workers, steps, args.concurrency)
        result: dict[str, Any] = phase(server, workers, args)
    finally:
        if workers is not None:
            workers.stop()
        server.stop()
    return ramp_rows, result | {"loop": server.loop, "transport": args.transport}, server.lines


def summary_rows(
    ramp_rows: list[dict[str, Any]], churn: dict[str, Any], args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in ramp_rows[1:]:
        n = r["connections"]
        rows += [
            _row(f"RSS per connection @ {n}", r["rss_per_conn_kib"], "KiB", "<= 25"),
            _row(f"server RSS @ {n}", r["server_rss_mib"], "MiB", ""),
            _row(f"connect+auth rate to {n}", r["connect_auth_per_s"], "/s", ">= 500"),
            _row(f"server / generator CPU, ramp to {n}", _pair(r), "% core", ""),
        ]
    label = f"{args.changes:g} changes/s x {args.contacts} contacts"
    rows += [
        _row("bulk publish (initial presence)", churn["bulk_publish_per_s"], "/s", ""),
        _row("server RSS with retained presence", churn["retained_rss_mib"], "MiB", ""),
        _row(
            f"RSS per user with retained presence ({args.contacts} contacts)",
            _per_user(churn["retained_rss_mib"], ramp_rows[0]["baseline_rss_mib"], ramp_rows),
            "KiB",
            "<= 45",
        ),
        _row(
            "  of which retained presence and subscriptions",
            _per_user(churn["retained_rss_mib"], ramp_rows[-1]["server_rss_mib"], ramp_rows),
            "KiB",
            "",
        ),
        _row(
            "  the same, 1 s after the bulk publish (trim may not have run)",
            _per_user(
                churn["retained_rss_mib_before_trim"], ramp_rows[0]["baseline_rss_mib"], ramp_rows
            ),
            "KiB",
            "",
        ),
        _row("heap trim pause after the bulk publish", _trims(churn), "ms", ""),
        _row(f"fan-out p50 ({label})", churn["p50_ms"], "ms", ""),
        _row(f"fan-out p99 ({label})", churn["p99_ms"], "ms", "< 100"),
        _row("fan-out missing events / errors", _errors(churn), "", "0"),
        _row("server / generator CPU, churn", _pair_churn(churn), "% core", ""),
        _row("server gen-2 GC pauses in churn (max)", _pauses(churn), "ms", ""),
        _row("server young GC pauses > 10 ms in churn (max)", _young(churn), "ms", ""),
    ]
    return rows


def anchor_rows(
    churn: dict[str, Any], anchors: dict[str, dict[str, Any]], ramp_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Kith's server CPU per delivery beside each bare relay's, and the ratio."""
    kith = churn["churn_server_cpu_us_per_delivery"]
    rows = [_row(f"server CPU per delivery, kith-signal on {churn['transport']}", kith, "µs", "")]
    for kind, a in anchors.items():
        bare = a["server_cpu_us_per_delivery"]
        ratio = round(kith / bare, 2) if bare else None
        target = "<= 0.5" if kind == "websockets" else ""
        rows += [
            _row(f"server CPU per delivery, bare {kind} relay", bare, "µs", ""),
            _row(f"kith-signal / bare {kind} per delivery", ratio, "x", target),
            _row(f"bare {kind} deliveries lost", a["sent"] - a["delivered"], "", "0"),
            _row(f"bare {kind} handshakes (no auth)", a["handshakes_per_s"], "/s", ""),
        ]
    return rows


def loop_rows(
    results: dict[str, dict[str, Any]], anchors: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """kith-signal's CPU per delivery and p99 on each event loop of the run."""
    if len(results) < 2:
        return []
    bare = anchors.get("websockets", {}).get("server_cpu_us_per_delivery")
    rows: list[dict[str, Any]] = []
    for result in results.values():
        us, loop = result["churn_server_cpu_us_per_delivery"], result["loop"]
        ratio = f" ({us / bare:.2f}x bare websockets)" if bare else ""
        rows += [
            _row(f"server CPU per delivery on {loop}", f"{us}{ratio}", "µs", ""),
            _row(f"fan-out p99 on {loop}", result["p99_ms"], "ms", "< 100"),
            _row(f"missing events / errors on {loop}", _errors(result), "", "0"),
        ]
    return rows


def capacity_rows(
    result: dict[str, Any], anchors: dict[str, dict[str, Any]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The search's steps, the best one, where it saturates, and the bare
    relays' deliveries per second of server CPU."""
    rows = [
        _row(
            f"step {s['changes_per_s']:g} changes/s x {args.contacts}",
            f"{s['deliveries_per_s']:g}/s p99 {s['p99_ms']} ms lost {s['lost']} "
            f"missing {s['missing']} server {s['server_cpu_pct']} % "
            f"machine {s['machine_busy_pct']} %",
            "",
            "pass" if s["passed"] else "FAIL",
        )
        for s in result["steps"]
    ]
    found = result["found"]
    best = found["best"]
    rows += [
        _row(
            f"capacity on {result['loop']} (p99 < 100 ms, no loss), deliveries",
            None if best is None else best["deliveries_per_s"],
            "/s",
            "",
        ),
        _row(
            "  at change rate / server CPU",
            None if best is None else f"{best['changes_per_s']:g} /s, {best['server_cpu_pct']} %",
            "",
            "",
        ),
        _row(
            "  first failure saturates",
            found["saturates"] or f"no failure within {args.capacity_steps} steps",
            "",
            "",
        ),
    ]
    for kind, a in anchors.items():
        us = a["server_cpu_us_per_delivery"]
        rows.append(
            _row(
                f"bare {kind} relay at 100 % of a core (1 / CPU per delivery)",
                round(1e6 / us) if us else None,
                "/s",
                "",
            )
        )
    return rows


def _trims(churn: dict[str, Any]) -> str:
    trims = churn["heap_trims_after_bulk"]
    if not trims:
        return "none"
    return ", ".join(
        f"{t['ms']:g} (RSS {t['rss_before_mib']:g} -> {t['rss_after_mib']:g} MiB)" for t in trims
    )


def _per_user(rss_mib: float, before_mib: float, ramp_rows: list[dict[str, Any]]) -> float:
    users: int = max(1, ramp_rows[-1]["connections"])
    return round((rss_mib - before_mib) * 1024 / users, 1)


def _row(metric: str, value: Any, unit: str, target: str) -> dict[str, Any]:
    return {"metric": metric, "value": value, "unit": unit, "target": target}


def _pair(r: dict[str, Any]) -> str:
    return f"{r['server_cpu_pct']} / {r['generator_cpu_pct']}"


def _pair_churn(c: dict[str, Any]) -> str:
    return f"{c['churn_server_cpu_pct']} / {c['churn_generator_cpu_pct']}"


def _pauses(c: dict[str, Any]) -> str:
    pauses = c["server_gc_pauses_ms_during_churn"]
    return f"{len(pauses)} ({max(pauses):.0f})" if pauses else "0"


def _young(c: dict[str, Any]) -> str:
    pauses = c["server_young_gc_pauses_ms_during_churn"]
    return f"{len(pauses)} ({max(pauses):.0f})" if pauses else "0"


def _errors(c: dict[str, Any]) -> str:
    return f"{c['missing_events']} / {sum(c['errors'].values())}"


if __name__ == "__main__":
    sys.exit(main())
