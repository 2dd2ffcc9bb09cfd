"""Behind real NATs: each node in its own network namespace behind a router
that masquerades with a fresh random port per flow (a symmetric NAT) and
drops unsolicited inbound traffic; kith-signal and coturn in a third,
public namespace (``kith_testkit.netns``, ``kith_testkit.nat_world``).

STUN alone finds no path between the two, and the user is told so while the
message waits; with the TURN relay handed out by kith-signal they chat, and
both nodes read a relayed candidate pair from their connection."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.coturn import coturn_available
from kith_testkit.nat_world import NatWorld
from kith_testkit.netns import NatNetwork, namespaces_available
from kith_testkit.node_api import EventWatcher
from kith_testkit.polling import wait_for

_UNAVAILABLE = namespaces_available()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not coturn_available(), reason="coturn missing: run make system-deps"),
    pytest.mark.skipif(_UNAVAILABLE is not None, reason=_UNAVAILABLE or ""),
]


@pytest.fixture
def without_turn(tmp_path: Path) -> Iterator[NatWorld]:
    world = NatWorld(tmp_path, turn=False)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture
def with_turn(tmp_path: Path) -> Iterator[NatWorld]:
    world = NatWorld(tmp_path, turn=True)
    try:
        yield world
    finally:
        world.close()


def _link(world: NatWorld, name: str, other: str) -> dict[str, Any]:
    status, body = world.api(name, "GET", f"/api/contacts/{world.ids[other]}/link")
    assert status == 200, body
    assert isinstance(body, dict)
    return body


def _texts(world: NatWorld, name: str, other: str) -> list[str]:
    node, contact = world.nodes[name], world.ids[other]
    return [m.text for m in world.at(name, lambda: node.api.messages(contact, 10))]


def _wait_texts(world: NatWorld, name: str, other: str, count: int) -> list[str]:
    def probe() -> list[str] | None:
        texts = _texts(world, name, other)
        return texts if len(texts) >= count else None

    return wait_for(probe, f"{name} to hold {count} messages with {other}", timeout=30)


def test_without_turn_no_path_is_found_and_the_message_waits(without_turn: NatWorld) -> None:
    world = without_turn
    world.start()
    events = world.at("a", lambda: EventWatcher(world.nodes["a"]))
    try:
        world.send("a", "b", "stuck behind two NATs")
        notice = events.wait(
            lambda e: e.get("type") == "chat_notice" and e.get("code") == "connect_failed",
            "a connect_failed notice",
            timeout=45,
        )
    finally:
        events.close()
    assert notice["contact"] == world.ids["b"]
    assert notice["reason"] in {"ice_failed", "timeout"}, notice
    assert "retrying later" in notice["message"]
    [message] = world.at("a", lambda: world.nodes["a"].api.messages(world.ids["b"], 10))
    assert message.text == "stuck behind two NATs"
    assert message.state in {"failed", "queued"}
    assert _link(world, "a", "b")["path"] is None
    assert _texts(world, "b", "a") == []


def test_with_turn_they_chat_through_the_relay_on_both_sides(with_turn: NatWorld) -> None:
    world = with_turn
    world.start()
    world.send("a", "b", "through the relay")
    assert _wait_texts(world, "b", "a", 1) == ["through the relay"]
    world.send("b", "a", "and back")
    assert _wait_texts(world, "a", "b", 2) == ["through the relay", "and back"]
    assert _link(world, "a", "b") == {"state": "open", "path": "relay"}
    assert _link(world, "b", "a") == {"state": "open", "path": "relay"}


def test_closing_the_network_removes_every_namespace_and_process() -> None:
    net = NatNetwork("ab")
    names = [ns.name for ns in (net.public, net.void, *net.nats.values(), *net.homes.values())]
    try:
        orphan = net.homes["a"].run(lambda: subprocess.Popen(["sleep", "60"]))
        assert net.homes["a"].pids() == [orphan.pid]
    finally:
        net.close()
    assert orphan.wait(5) == -signal.SIGKILL
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not [name for name in names if name in listed.stdout]
