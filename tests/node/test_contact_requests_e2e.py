"""Contact requests between real nodes through a real ``kith-signal``.

A adds B through the CLI (so through A's running node): B gets a sealed
request (``intro``) that lists A's chosen name and the pair's safety number;
only when B accepts does presence flow both ways. Declined and blocked
requests change nothing the sender could see; undecodable or forged intros
are dropped and the node carries on. Display names travel in the presence
records and update live.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_proto.client_core import RequestAcked
from kith_proto.intro import INTRO_SIZE, seal_intro
from kith_proto.keys import IdentityKeys
from kith_proto.pair import intro_topic
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import NodeProcess, kith, make_identity, ok
from kith_testkit.polling import wait_for
from kith_testkit.signal.clients import Client
from kith_testkit.signal.process import SignalProcess

FLAGS = ("--heartbeat-interval", "0.5", "--heartbeat-timeout", "1.0")
pytestmark = pytest.mark.slow


class World:
    """A server and three nodes (alice, bob, carol) that know nobody yet."""

    def __init__(self, root: Path) -> None:
        self.server = SignalProcess(*FLAGS)
        self.dirs = {name: root / name for name in ("alice", "bob", "carol")}
        self.ids = {n: make_identity(p, n.title(), self.server.url) for n, p in self.dirs.items()}
        self.nodes = {name: NodeProcess(path, *FLAGS) for name, path in self.dirs.items()}
        for node in self.nodes.values():
            node.connection_is("connected")

    def cli(self, who: str, *args: str) -> str:
        return ok(kith(self.dirs[who], *args))

    def requests(self, who: str) -> list[dict[str, Any]]:
        return list(json.loads(self.cli(who, "contacts", "requests", "--json")))

    def request_from(self, who: str, sender: str) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            return next((r for r in self.requests(who) if r["id"] == self.ids[sender]), None)

        return wait_for(probe, f"{sender}'s request to reach {who}")

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


def test_a_request_is_accepted_and_presence_then_flows_both_ways(world: World) -> None:
    alice, bob = world.nodes["alice"], world.nodes["bob"]
    ida, idb = world.ids["alice"], world.ids["bob"]
    world.cli("alice", "contacts", "add", idb)

    request = world.request_from("bob", "alice")
    shown = json.loads(world.cli("alice", "contacts", "show", idb, "--json"))
    assert request["name"] == "Alice"
    assert request["safety_number"] == shown["safety_number"]
    status, listed = call(bob, "GET", "/api/requests")
    assert status == 200
    assert [r["id"] for r in listed] == [ida]
    assert alice.contact(idb).status == "offline"  # nothing revealed before the answer

    world.cli("bob", "contacts", "accept", ida)
    alice.sees(idb, "online")
    accepted = bob.sees(ida, "online")
    assert (accepted.name, accepted.own_name, accepted.display_name) == (None, "Alice", "Alice")
    assert wait_for(lambda: alice.contact(idb).own_name or None, "Bob's name") == "Bob"
    assert world.requests("bob") == []


def test_a_declined_request_is_forgotten_and_nothing_flows(world: World) -> None:
    alice = world.nodes["alice"]
    ida, idb = world.ids["alice"], world.ids["bob"]
    world.cli("alice", "contacts", "add", idb)
    world.request_from("bob", "alice")

    world.cli("bob", "contacts", "decline", ida)
    assert world.requests("bob") == []
    assert ida not in [c["id"] for c in json.loads(world.cli("bob", "contacts", "list", "--json"))]
    contact = alice.contact(idb)
    assert (contact.status, contact.last_seen, contact.own_name) == ("offline", None, "")


def test_answering_a_request_that_does_not_wait_is_a_clear_error(world: World) -> None:
    bob, ida = world.nodes["bob"], world.ids["alice"]
    status, body = call(bob, "POST", f"/api/requests/{ida}/accept")
    assert (status, body["error"]["code"]) == (404, "unknown_request")
    status, body = call(bob, "POST", "/api/blocked", {"id": "not-an-id"})
    assert (status, body["error"]["code"]) == (400, "malformed_id")
    result = kith(world.dirs["bob"], "contacts", "decline", ida)
    assert result.returncode == 1
    assert "no contact request" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_blocked_id_is_refused_silently(world: World) -> None:
    ida, idb = world.ids["alice"], world.ids["bob"]
    world.cli("bob", "contacts", "block", ida)
    world.cli("alice", "contacts", "add", idb)  # acknowledged like any other request
    world.cli("carol", "contacts", "add", idb)  # sent after alice's: a barrier

    world.request_from("bob", "carol")
    assert [r["id"] for r in world.requests("bob")] == [world.ids["carol"]]
    assert world.nodes["alice"].contact(idb).last_seen is None


def test_after_unblocking_a_new_request_arrives(world: World) -> None:
    ida, idb, idc = world.ids["alice"], world.ids["bob"], world.ids["carol"]
    world.cli("bob", "contacts", "block", ida)
    not_blocked = kith(world.dirs["bob"], "contacts", "unblock", idc)
    assert (not_blocked.returncode, "Traceback" in not_blocked.stderr) == (1, False)
    assert "not blocked" in not_blocked.stderr
    status, body = call(world.nodes["bob"], "DELETE", "/api/blocked/not-an-id")
    assert (status, body["error"]["code"]) == (400, "malformed_id")

    assert "Unblocked" in world.cli("bob", "contacts", "unblock", ida)
    world.cli("alice", "contacts", "add", idb)
    assert world.request_from("bob", "alice")["name"] == "Alice"
    status, body = call(world.nodes["bob"], "DELETE", f"/api/blocked/{ida}")
    assert (status, body["error"]["code"]) == (404, "not_blocked")


def test_undecodable_and_forged_intros_are_dropped_and_the_node_carries_on(
    world: World,
) -> None:
    bob = world.nodes["bob"]
    bob_keys_public = _public(world.ids["bob"])
    stranger = IdentityKeys.generate()
    genuine = seal_intro(stranger, bob_keys_public, "Stranger", 1)
    forged = bytearray(genuine)
    forged[-1] ^= 1
    payloads = [  # with the genuine one, the server's burst of five intros
        os.urandom(INTRO_SIZE),  # random bytes of the right size
        os.urandom(INTRO_SIZE + 1),  # oversized for an intro
        bytes(forged),  # altered on the way
        seal_intro(stranger, _public(world.ids["carol"]), "Wrong", 1),  # sealed for carol
    ]
    asyncio.run(_send_intros(world.server.url, bob_keys_public, [*payloads, genuine]))

    request = wait_for(
        lambda: next((r for r in world.requests("bob") if r["name"] == "Stranger"), None),
        "the genuine request",
    )
    assert request["id"] == stranger.kith_id
    assert len(world.requests("bob")) == 1
    log = "\n".join(bob.lines)
    assert "malformed_intro" in log
    assert "unreadable_intro" in log
    assert bob.api.status().connection == "connected"


def test_a_display_name_change_reaches_the_contact_live(world: World) -> None:
    alice, bob = world.nodes["alice"], world.nodes["bob"]
    ida, idb = world.ids["alice"], world.ids["bob"]
    world.cli("alice", "contacts", "add", idb)
    world.request_from("bob", "alice")
    world.cli("bob", "contacts", "accept", ida)
    alice.sees(idb, "online")
    bob.sees(ida, "online")
    events = EventWatcher(bob)
    try:
        world.cli("alice", "name", "set", "Alice Liddell")
        events.wait(
            lambda e: e == {"type": "contacts", "id": ida, "change": "named"}, "a named event"
        )
        assert bob.contact(ida).display_name == "Alice Liddell"
        world.cli("bob", "contacts", "rename", ida, "Al")  # the nickname still wins
        assert bob.contact(ida).display_name == "Al"
    finally:
        events.close()


def _public(kith_id: str) -> bytes:
    from kith_proto.ids import parse_id

    return parse_id(kith_id)


async def _send_intros(url: str, recipient: bytes, payloads: list[bytes]) -> None:
    client = await Client.ready(url)
    try:
        topic = intro_topic(recipient).raw
        for payload in payloads:
            ref = await client.call(client.core.intro, topic, payload)
            await client.expect(RequestAcked, _ref(ref))
    finally:
        await client.close()


def _ref(ref: int) -> Callable[[RequestAcked], bool]:
    return lambda event: event.ref == ref
