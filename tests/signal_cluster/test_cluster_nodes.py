"""Real ``kith run`` nodes on two ``kith-signal`` processes of one cluster:
presence (busy with text) crosses processes, and Redis then holds no status,
status text, public key or Kith ID."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.contacts import canonical_id
from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.redis_server import redis_available
from kith_testkit.signal.cluster import SignalCluster
from kith_testkit.signal.process import HEARTBEAT_FLAGS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not redis_available(), reason="redis-server is not installed"),
]


class World:
    """A cluster of two processes; node a on the first, node b on the second."""

    def __init__(self, root: Path) -> None:
        self.cluster = SignalCluster(root / "cluster")
        self.servers = [self.cluster.start(*HEARTBEAT_FLAGS) for _ in range(2)]
        self.dirs = {name: root / name for name in "ab"}
        self.ids = {
            name: make_identity(self.dirs[name], name, server.url)
            for name, server in zip("ab", self.servers, strict=True)
        }
        add_contact(self.dirs["a"], self.ids["b"], "b")
        add_contact(self.dirs["b"], self.ids["a"], "a")
        self.nodes = {name: NodeProcess(path, *HEARTBEAT_FLAGS) for name, path in self.dirs.items()}

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.cluster.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


def identity_forms(kith_id: str) -> list[bytes]:
    raw = canonical_id(kith_id)[1]
    return [
        raw,
        kith_id.encode(),
        raw.hex().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


def test_presence_crosses_processes_and_redis_learns_nothing(world: World) -> None:
    a, b = world.nodes["a"], world.nodes["b"]
    ida, idb = world.ids["a"], world.ids["b"]
    b.sees(ida, "online")
    a.sees(idb, "online")
    ok(kith(a.data_dir, "status", "set", "busy", "--text", "at the dentist until noon"))
    b.sees(ida, "busy", status_text="at the dentist until noon")

    dump = b"\n".join(world.cluster.redis[0].dump())
    assert dump.count(b"kr:") >= 2  # both nodes' presence is retained in Redis...
    # ...sealed: no word of it, in forms random bytes hardly spell (a bare "busy"
    # in any case turns up in about one dump in 300,000)
    for word in (b"dentist", b"until noon", b'"busy"', b'"online"'):
        assert word not in dump.lower()
    for kith_id in (ida, idb):
        for form in identity_forms(kith_id):
            assert form not in dump
