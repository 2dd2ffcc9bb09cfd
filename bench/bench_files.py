"""File transfer benchmark: two real ``kith run`` nodes versus a raw aiortc channel.

Run: ``.venv/bin/python bench/bench_files.py [MiB]`` (200 MiB by default).
A real ``kith-signal`` and two real ``kith run`` processes on loopback (no
STUN), driven through their local APIs:

* ``raw aiortc``: two RTCPeerConnections, each in its own process like the
  two nodes (the receiver is this script with ``--raw-receiver``); 64 KiB
  messages sent as fast as the channel takes them (paced on
  ``bufferedAmount`` with ``bufferedamountlow``, so the buffer stays bounded
  like Kith's window); bytes per second one way, CPU per MiB of each side;
  measured before and after the nodes (the machine is shared: the mean of
  the two is the anchor).
* ``kith: queue``: ``POST …/files`` until it answers (the file is read,
  hashed and encrypted into the sender's vault).
* ``kith: transfer``: from the answer until the sender sees ``received``
  (chunks sealed in the session, stored encrypted, hashed again and
  verified at the receiver); MiB per second and CPU per MiB of each node.
  ``vs_raw`` is its bytes per second over the raw channel's mean (target
  0.7); ``cpu_vs_raw`` the raw channel's CPU per MiB over Kith's (both
  sides), steadier than wall-clock rates on a loaded machine.
  ``sender_rss_MiB`` / ``receiver_rss_MiB``: each node's peak RSS growth
  during the transfer (``/proc/PID/status`` VmRSS sampled every 20 ms, over
  the RSS after a small warm-up file): it stays flat whatever the size,
  since both sides stream from and to disk.
* ``kith: resume``: the receiver killed halfway and started again; from
  the new process's start until the sender logs where the transfer resumes
  (node start, signaling, presence, a new channel and session).

The machine's load average before and after is written with the figures:
on a shared machine, compare runs only at a similar load.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from benchlib import report
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess
from kith_testkit.polling import wait_for

MIB = 1024 * 1024
CHUNK = 64 * 1024
HIGH_WATER = 2 * MIB
"""Raw channel: stop sending above this many buffered bytes (Kith's window is 2 MiB)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _raw_receiver(size: int) -> None:
    """The raw channel's receiving peer, in its own process (as a Kith node is):
    reads the offer on stdin, writes the answer, then its CPU when ``size`` bytes
    arrived."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("kith", negotiated=True, id=0)
    received = 0
    done = asyncio.Event()

    def on_message(message: bytes) -> None:
        nonlocal received
        received += len(message)
        if received >= size:
            done.set()

    channel.on("message", on_message)
    offer = json.loads(await asyncio.to_thread(sys.stdin.readline))
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription
    print(json.dumps({"sdp": answer.sdp, "type": answer.type}), flush=True)
    cpu = time.process_time()
    await done.wait()
    print(json.dumps({"cpu": time.process_time() - cpu}), flush=True)
    await pc.close()


async def bench_raw(size: int) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--raw-receiver", str(size),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None
    assert child.stdout is not None
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    channel = pc.createDataChannel("kith", negotiated=True, id=0)
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription
    child.stdin.write(json.dumps({"sdp": offer.sdp, "type": offer.type}).encode() + b"\n")
    await child.stdin.drain()
    answer = json.loads(await child.stdout.readline())
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    await opened.wait()
    low = asyncio.Event()
    channel.bufferedAmountLowThreshold = HIGH_WATER // 2
    channel.on("bufferedamountlow", low.set)
    payload = os.urandom(CHUNK)
    cpu, start = time.process_time(), time.perf_counter()
    sent = 0
    while sent < size:
        if channel.bufferedAmount > HIGH_WATER:
            low.clear()
            await low.wait()
        channel.send(payload)
        sent += len(payload)
    receiver_cpu = json.loads(await child.stdout.readline())["cpu"]
    took, used = time.perf_counter() - start, time.process_time() - cpu
    await pc.close()
    await child.wait()
    mib = size / MIB
    return {
        "case": "raw aiortc: one way, 64 KiB messages, two processes",
        "MiB_per_s": mib / took,
        "cpu_ms_per_MiB": (used + receiver_cpu) * 1000 / mib,
        "sender_cpu_ms_per_MiB": used * 1000 / mib,
        "receiver_cpu_ms_per_MiB": receiver_cpu * 1000 / mib,
    }


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB (Linux ``/proc``)."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


class PeakRss:
    """Samples the RSS of some nodes every 20 ms on a thread, from queueing to the end."""

    def __init__(self, *nodes: NodeProcess) -> None:
        self.peak = {n: rss_mib(n.proc.pid) for n in nodes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for node in self.peak:
                self.peak[node] = max(self.peak[node], rss_mib(node.proc.pid))

    def __enter__(self) -> dict[NodeProcess, float]:
        self._thread.start()
        return self.peak

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _make_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        while out.tell() < size:
            out.write(os.urandom(min(MIB, size - out.tell())))


def _state(node: NodeProcess, file_id: str) -> dict[str, Any] | None:
    status, body = call(node, "GET", f"/api/files/{file_id}")
    return body if status == 200 else None


def _send(node: NodeProcess, contact: str, path: Path) -> str:
    status, body = call(node, "POST", f"/api/contacts/{contact}/files", {"path": str(path)})
    assert status == 201, body
    return str(body["file"]["id"])


def bench_nodes(size: int, root: Path) -> list[dict[str, Any]]:
    world = ChatWorld(root / "world")
    try:
        a, b = world.start("a", "b")
        world.online("a", "b")
        source = root / "payload.bin"
        _make_file(source, size)
        # one small file first: the channel and session are open before timing
        warm = root / "warm.bin"
        _make_file(warm, 1000)
        warm_id = _send(a, world.ids["b"], warm)
        wait_for(lambda: (_state(a, warm_id) or {}).get("state") == "received" or None, "warm")

        cpu_a, cpu_b = cpu_seconds(a.proc.pid), cpu_seconds(b.proc.pid)
        rss_before = {n: rss_mib(n.proc.pid) for n in (a, b)}
        with PeakRss(a, b) as peak:
            start = time.perf_counter()
            file_id = _send(a, world.ids["b"], source)
            queued = time.perf_counter()
            wait_for(
                lambda: (_state(a, file_id) or {}).get("state") == "received" or None,
                "the file to arrive",
                timeout=900,
            )
            end = time.perf_counter()
        used_a = cpu_seconds(a.proc.pid) - cpu_a
        used_b = cpu_seconds(b.proc.pid) - cpu_b
        mib = size / MIB

        # resume: kill the receiver halfway through a second copy
        second = _send(a, world.ids["b"], source)
        wait_for(
            lambda: (_state(b, second) or {}).get("bytes_done", 0) >= size // 2 or None,
            "half of the second copy",
            timeout=900,
        )
        b.kill()
        restart = time.perf_counter()
        world.start("b")
        wait_for(
            lambda: any(f"file {second[:8]}" in x and "resumes" in x for x in a.lines) or None,
            "the transfer to resume",
            timeout=120,
        )
        resumed = time.perf_counter()
    finally:
        world.close()
    transfer = end - queued
    return [
        {"case": "kith: queue (read, hash, encrypt into the vault)", "ms": (queued - start) * 1000,
         "MiB_per_s": mib / (queued - start)},
        {"case": "kith: transfer to verified at the receiver", "MiB_per_s": mib / transfer,
         "cpu_ms_per_MiB": (used_a + used_b) * 1000 / mib,
         "sender_cpu_ms_per_MiB": used_a * 1000 / mib,
         "receiver_cpu_ms_per_MiB": used_b * 1000 / mib,
         "sender_rss_MiB": peak[a] - rss_before[a], "receiver_rss_MiB": peak[b] - rss_before[b]},
        {"case": "kith: resume after the receiver restarts", "ms": (resumed - restart) * 1000},
    ]  # fmt: skip


async def main() -> None:
    if sys.argv[1:2] == ["--raw-receiver"]:
        await _raw_receiver(int(sys.argv[2]))
        return
    size = int(sys.argv[1]) * MIB if len(sys.argv) > 1 else 200 * MIB
    load_before = os.getloadavg()[0]
    before = await bench_raw(size)
    with tempfile.TemporaryDirectory() as root:
        kith = await asyncio.to_thread(bench_nodes, size, Path(root))
    after = await bench_raw(size)
    before["case"] += " (before)"
    after["case"] += " (after)"
    anchor = (before["MiB_per_s"] + after["MiB_per_s"]) / 2
    kith[1]["vs_raw"] = kith[1]["MiB_per_s"] / anchor
    raw_cpu = (before["cpu_ms_per_MiB"] + after["cpu_ms_per_MiB"]) / 2
    kith[1]["cpu_vs_raw"] = raw_cpu / kith[1]["cpu_ms_per_MiB"]
    rows = [before, after, *kith]
    report(
        "files",
        rows,
        {
            "file_MiB": size / MIB,
            "target_vs_raw": 0.7,
            "load_average_1min": [load_before, os.getloadavg()[0]],
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
