"""Issue 4's acceptance test: a real ``kith-signal`` and three real ``kith run`` nodes.

A and B are mutual contacts; C has A, but A does not have C. Every step acts
through the real CLI and checks through the nodes' local APIs with bounded
polling.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.signal.process import SignalProcess

HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT = 0.5, 1.0
SERVER_FLAGS = (
    "--heartbeat-interval", str(HEARTBEAT_INTERVAL),
    "--heartbeat-timeout", str(HEARTBEAT_TIMEOUT),
)  # fmt: skip
NODE_FLAGS = SERVER_FLAGS
pytestmark = pytest.mark.slow


class World:
    """The server, three data directories and their running nodes."""

    def __init__(self, root: Path) -> None:
        self.server = SignalProcess(*SERVER_FLAGS)
        url = self.server.url
        self.dirs = {name: root / name for name in "abc"}
        self.ids = {name: make_identity(path, name, url) for name, path in self.dirs.items()}
        add_contact(self.dirs["a"], self.ids["b"], "b")
        add_contact(self.dirs["b"], self.ids["a"], "a")
        add_contact(self.dirs["c"], self.ids["a"], "a")
        self.nodes = {name: NodeProcess(path, *NODE_FLAGS) for name, path in self.dirs.items()}

    def restart_server(self) -> None:
        port = self.server.port
        self.server.stop()
        self.server = SignalProcess(*SERVER_FLAGS, "--port", str(port))

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


def test_presence_end_to_end(world: World) -> None:
    a, b, c = (world.nodes[n] for n in "abc")
    ida, idb = world.ids["a"], world.ids["b"]
    b.sees(ida, "online")
    a.sees(idb, "online")
    c.sees(ida, "offline")

    # A sets busy: B sees it within 1 s; C never sees anything of A.
    ok(kith(a.data_dir, "status", "set", "busy", "--text", "in a meeting"))
    b.sees(ida, "busy", timeout=1.0, status_text="in a meeting")
    assert c.contact(ida).status == "offline"

    # A goes invisible: B sees offline, A still sees B online.
    ok(kith(a.data_dir, "status", "set", "invisible"))
    seen = b.sees(ida, "offline")
    assert seen.last_seen is not None
    assert a.contact(idb).status == "online"
    assert c.contact(ida).status == "offline"

    # A chooses away, then its process is killed: B sees offline within the heartbeat.
    ok(kith(a.data_dir, "status", "set", "away", "--text", "back soon"))
    b.sees(ida, "away", status_text="back soon")
    killed = time.time()
    a.kill()
    gone = b.sees(ida, "offline", timeout=HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT + 1.0)
    assert gone.last_seen is not None
    assert gone.last_seen >= killed - 1.0

    # A restarts with the status it had chosen.
    a = world.nodes["a"] = NodeProcess(world.dirs["a"], *NODE_FLAGS)
    b.sees(ida, "away", status_text="back soon")
    assert a.api.status().status == "away"
    a.sees(idb, "online")
    assert c.contact(ida).status == "offline"

    # The server dies: both nodes report "disconnected" and show contacts offline...
    world.server.proc.send_signal(signal.SIGKILL)
    a.connection_is("disconnected")
    b.sees(ida, "offline")
    assert ok(kith(b.data_dir, "status", "--json")).count('"disconnected"') == 1

    # ... and presence recovers once it is back on the same port, no node restarted.
    world.restart_server()
    b.sees(ida, "away", timeout=15, status_text="back soon")
    a.sees(idb, "online", timeout=15)
    b.connection_is("connected")
    assert c.contact(ida).status == "offline"


def test_clean_stop_shows_offline_and_exits_zero(world: World) -> None:
    a, b = world.nodes["a"], world.nodes["b"]
    ida = world.ids["a"]
    b.sees(ida, "online")
    assert a.stop(signal.SIGINT) == 0
    b.sees(ida, "offline", timeout=1.0)
    assert not (a.data_dir / "node.json").exists()
    status = ok(kith(a.data_dir, "status", "--json"))
    assert '"not running"' in status


def test_contacts_changed_while_running_take_effect_live(world: World) -> None:
    a, b, c = (world.nodes[n] for n in "abc")
    ida, idb, idc = (world.ids[n] for n in "abc")
    b.sees(ida, "online")

    # A adds C while running: subscribed at once, and C starts seeing A.
    ok(kith(a.data_dir, "contacts", "add", idc, "--name", "c"))
    c.sees(ida, "online")
    a.sees(idc, "online")

    # A removes B: B sees A go offline and learns nothing more.
    ok(kith(a.data_dir, "contacts", "remove", idb))
    b.sees(ida, "offline")
    ok(kith(a.data_dir, "status", "set", "busy"))
    c.sees(ida, "busy")
    assert b.contact(ida).status == "offline"
    assert idb not in [contact.kith_id for contact in a.api.contacts()]


def test_a_frozen_node_is_seen_offline_within_the_heartbeat_and_returns(world: World) -> None:
    a, b = world.nodes["a"], world.nodes["b"]
    ida = world.ids["a"]
    b.sees(ida, "online")
    frozen = time.monotonic()
    a.proc.send_signal(signal.SIGSTOP)
    try:
        b.sees(ida, "offline", timeout=HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT + 1.5)
        assert time.monotonic() - frozen < HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT + 1.5
    finally:
        a.proc.send_signal(signal.SIGCONT)
    b.sees(ida, "online", timeout=15)
