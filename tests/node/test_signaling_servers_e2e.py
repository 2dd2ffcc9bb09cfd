"""A real ``kith run`` node given several signaling servers (``signaling_url``
holding a space-separated list) and real ``kith-signal`` processes: a dead
server in the list is passed over, and when the connected server is killed
the node reconnects to the other and publishes its status there.

Without Redis the two servers are independent: each test's contact connects
to the server the node is on, to see what the node published there. With
Redis (a cluster), contacts on different processes see each other, and a
kill -9 of one process moves its node to the other.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.polling import wait_for
from kith_testkit.redis_server import redis_available
from kith_testkit.signal.cluster import SignalCluster
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def started() -> Iterator[list[SignalProcess | NodeProcess]]:
    """Processes to stop at the end (nodes first)."""
    processes: list[SignalProcess | NodeProcess] = []
    yield processes
    for process in reversed(processes):
        if isinstance(process, NodeProcess):
            process.kill()
        else:
            process.stop()


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{probe.getsockname()[1]}"


def holder(servers: list[SignalProcess]) -> SignalProcess:
    """The one server where a node has signed in (the log says so)."""

    def probe() -> SignalProcess | None:
        signed_in = [s for s in servers if "event=authenticated" in s.log_text()]
        return signed_in[0] if len(signed_in) == 1 else None

    return wait_for(probe, "the node to sign in on one server")


def pair(root: Path, a_urls: str, b_url: str) -> tuple[Path, Path, str, str]:
    a, b = root / "a", root / "b"
    ida, idb = make_identity(a, "a", a_urls), make_identity(b, "b", b_url)
    add_contact(a, idb, "b")
    add_contact(b, ida, "a")
    return a, b, ida, idb


def test_a_dead_server_in_the_list_is_passed_over(
    tmp_path: Path, started: list[SignalProcess | NodeProcess]
) -> None:
    server = SignalProcess(*HEARTBEAT_FLAGS)
    started.append(server)
    a_dir, b_dir, ida, idb = pair(tmp_path, f"{dead_url()} {server.url}", server.url)
    a = NodeProcess(a_dir, *HEARTBEAT_FLAGS)
    started.append(a)
    b = NodeProcess(b_dir, *HEARTBEAT_FLAGS)
    started.append(b)
    a.connection_is("connected", timeout=15)
    b.sees(ida, "online", timeout=15)
    a.sees(idb, "online", timeout=15)


def test_killing_the_connected_server_moves_the_node_to_the_other(
    tmp_path: Path, started: list[SignalProcess | NodeProcess]
) -> None:
    servers = [SignalProcess(*HEARTBEAT_FLAGS), SignalProcess(*HEARTBEAT_FLAGS)]
    started.extend(servers)
    a_dir, b_dir, ida, _ = pair(tmp_path, " ".join(s.url for s in servers), "ws://unused:1")
    a = NodeProcess(a_dir, *HEARTBEAT_FLAGS)
    started.append(a)
    a.connection_is("connected", timeout=15)
    ok(kith(a_dir, "status", "set", "busy", "--text", "moving house"))
    first = holder(servers)
    (other,) = (s for s in servers if s is not first)
    first.stop()  # kill -9
    other.wait_for_log("event=authenticated", timeout=15)
    a.connection_is("connected", timeout=15)
    wait_for(
        lambda: True if any(f"signaling server {other.url}" in s for s in a.lines) else None,
        "the node to log the server it moved to",
    )
    ok(kith(b_dir, "settings", "set", "signaling_url", other.url))
    b = NodeProcess(b_dir, *HEARTBEAT_FLAGS)
    started.append(b)
    b.sees(ida, "busy", timeout=15, status_text="moving house")


@pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")
def test_nodes_on_two_cluster_processes_see_each_other_and_survive_a_kill_9(
    tmp_path: Path, started: list[SignalProcess | NodeProcess]
) -> None:
    cluster = SignalCluster(tmp_path / "cluster")
    try:
        servers = [cluster.start(*HEARTBEAT_FLAGS), cluster.start(*HEARTBEAT_FLAGS)]
        both = " ".join(s.url for s in servers)
        a_dir, b_dir, ida, idb = pair(tmp_path, both, "ws://unused:1")
        a = NodeProcess(a_dir, *HEARTBEAT_FLAGS)
        started.append(a)
        ok(kith(a_dir, "status", "set", "busy", "--text", "in a meeting"))
        first = holder(servers)
        (other,) = (s for s in servers if s is not first)
        # B on the other process: presence crosses processes through Redis.
        ok(kith(b_dir, "settings", "set", "signaling_url", other.url))
        b = NodeProcess(b_dir, *HEARTBEAT_FLAGS)
        started.append(b)
        b.sees(ida, "busy", timeout=15, status_text="in a meeting")
        a.sees(idb, "online", timeout=15)
        first.stop()  # kill -9: A moves to the process B is on
        other.wait_for_count("event=authenticated", 2, timeout=15)
        a.connection_is("connected", timeout=15)
        ok(kith(a_dir, "status", "set", "away", "--text", "back soon"))
        b.sees(ida, "away", timeout=15, status_text="back soon")
        a.sees(idb, "online", timeout=15)
    finally:
        for node in [p for p in started if isinstance(p, NodeProcess)]:
            node.kill()
        started.clear()
        cluster.close()
