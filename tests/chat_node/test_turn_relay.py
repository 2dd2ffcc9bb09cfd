"""TURN end to end: a real coturn on loopback, a real ``kith-signal`` handing
out its credentials, real nodes. With ``relay_only`` the nodes chat and the
connection's nominated candidate pair is relayed on both sides (read from
the connection, ``GET /api/contacts/{id}/link``); without a relay on offer
they say so instead of connecting directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import NODE_FLAGS, SERVER_FLAGS
from kith_testkit.coturn import CoturnProcess, coturn_available
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.polling import wait_for
from kith_testkit.signal.process import SignalProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not coturn_available(), reason="coturn missing: run make system-deps"),
]


class World:
    """coturn, a kith-signal (with or without TURN) and two mutual contacts."""

    def __init__(self, root: Path, *, turn: bool) -> None:
        self.coturn = CoturnProcess(root / "coturn") if turn else None
        flags: tuple[str, ...] = ()
        if self.coturn is not None:
            flags = (
                "--turn-url",
                self.coturn.url,
                "--turn-secret-file",
                str(self.coturn.secret_file),
            )
        self.server = SignalProcess(*SERVER_FLAGS, *flags)
        self.dirs = {n: root / n for n in "ab"}
        self.ids = {n: make_identity(p, n, self.server.url) for n, p in self.dirs.items()}
        add_contact(self.dirs["a"], self.ids["b"], "b")
        add_contact(self.dirs["b"], self.ids["a"], "a")
        self.nodes: dict[str, NodeProcess] = {}

    def start(self, *, relay_only: dict[str, bool]) -> None:
        for name, on in relay_only.items():
            ok(kith(self.dirs[name], "settings", "set", "relay_only", "true" if on else "false"))
            self.nodes[name] = NodeProcess(self.dirs[name], *NODE_FLAGS)
        self.nodes["a"].sees(self.ids["b"], "online")
        self.nodes["b"].sees(self.ids["a"], "online")

    def link(self, name: str, other: str) -> dict[str, Any]:
        status, body = call(self.nodes[name], "GET", f"/api/contacts/{self.ids[other]}/link")
        assert status == 200, body
        assert isinstance(body, dict)
        return body

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()
        if self.coturn is not None:
            self.coturn.stop()


@pytest.fixture
def relayed(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path, turn=True)
    yield world
    world.close()


@pytest.fixture
def no_turn(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path, turn=False)
    yield world
    world.close()


def _open_link(world: World, name: str, other: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        link = world.link(name, other)
        return link if link["state"] == "open" and link["path"] is not None else None

    return wait_for(probe, f"{name}'s link to {other} to open", timeout=30)


def test_relay_only_nodes_chat_through_the_relay_on_both_sides(relayed: World) -> None:
    relayed.start(relay_only={"a": True, "b": True})
    ok(kith(relayed.dirs["a"], "send", "b", "through the relay"))
    wait_for(
        lambda: relayed.nodes["b"].api.messages(relayed.ids["a"], 10) or None,
        "bob to receive",
        timeout=30,
    )
    ok(kith(relayed.dirs["b"], "send", "a", "and back"))
    wait_for(
        lambda: len(relayed.nodes["a"].api.messages(relayed.ids["b"], 10)) == 2 or None,
        "alice to receive",
        timeout=30,
    )
    assert _open_link(relayed, "a", "b") == {"state": "open", "path": "relay"}
    assert _open_link(relayed, "b", "a") == {"state": "open", "path": "relay"}
    assert [m.text for m in relayed.nodes["b"].api.messages(relayed.ids["a"], 10)] == [
        "through the relay",
        "and back",
    ]


def test_without_relay_only_a_direct_path_is_preferred(relayed: World) -> None:
    relayed.start(relay_only={"a": False, "b": False})
    ok(kith(relayed.dirs["a"], "send", "b", "direct when possible"))
    wait_for(
        lambda: relayed.nodes["b"].api.messages(relayed.ids["a"], 10) or None,
        "bob to receive",
        timeout=30,
    )
    assert _open_link(relayed, "a", "b")["path"] == "direct"


def test_relay_only_without_a_relay_says_so_and_does_not_connect(no_turn: World) -> None:
    no_turn.start(relay_only={"a": True, "b": False})
    events = EventWatcher(no_turn.nodes["a"])
    try:
        ok(kith(no_turn.dirs["a"], "send", "b", "must not go directly"))
        notice = events.wait(
            lambda e: e.get("type") == "chat_notice" and e.get("reason") == "no_relay",
            "a no_relay notice",
        )
    finally:
        events.close()
    assert notice["code"] == "connect_failed"
    assert "TURN" in notice["message"]
    assert no_turn.link("a", "b") == {"state": "idle", "path": None}
    assert no_turn.nodes["b"].api.messages(no_turn.ids["a"], 10) == []
