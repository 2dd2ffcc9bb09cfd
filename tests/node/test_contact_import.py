"""Importing a contact list through a running node: one transaction, live at once.

Real ``kith-signal`` and ``kith run`` processes; alice imports a list with the
real CLI while her node runs, and bob, who already has alice, sees her come
online because her node subscribed to the new contacts and published to them
without a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kith_proto.keys import IdentityKeys
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.signal.process import HEARTBEAT_FLAGS, SignalProcess

CAROL = IdentityKeys(bytes(range(1, 33))).kith_id
pytestmark = pytest.mark.slow


def _imports(watcher: EventWatcher) -> list[dict[str, object]]:
    events = list(watcher.events)
    return [e for e in events if e.get("type") == "contacts" and e["change"] == "imported"]


class World:
    """A server; alice with no contacts; bob, who has alice."""

    def __init__(self, root: Path) -> None:
        self.server = SignalProcess(*HEARTBEAT_FLAGS)
        self.alice_id = make_identity(root / "alice", "alice", self.server.url)
        self.bob_id = make_identity(root / "bob", "bob", self.server.url)
        add_contact(root / "bob", self.alice_id, "alice")
        self.alice = NodeProcess(root / "alice", *HEARTBEAT_FLAGS)
        self.bob = NodeProcess(root / "bob", *HEARTBEAT_FLAGS)
        self.alice.connection_is("connected")
        self.bob.connection_is("connected")

    def close(self) -> None:
        self.alice.kill()
        self.bob.kill()
        self.server.stop()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world")
    yield w
    w.close()


def test_imported_contacts_are_subscribed_live(world: World, tmp_path: Path) -> None:
    alice, bob = world.alice, world.bob
    assert bob.contact(world.alice_id).status == "offline"  # alice does not have bob yet
    watcher = EventWatcher(alice)
    try:
        listing = tmp_path / "contacts.txt"
        listing.write_text(f"# moving machines\n{world.bob_id} Bob B.\n{CAROL}\n{CAROL} twice\n")
        out = ok(kith(alice.data_dir, "contacts", "import", str(listing)))
        assert out == "Imported 2 contacts (1 already there)\n"
        watcher.wait(lambda _: bool(_imports(watcher)), "one 'imported' event for the list")
        assert _imports(watcher) == [{"type": "contacts", "id": "", "change": "imported"}]
    finally:
        watcher.close()
    names = {c.kith_id: c.name for c in alice.api.contacts()}
    assert names == {world.bob_id: "Bob B.", CAROL: None}
    bob.sees(world.alice_id, "online")  # alice's node published to bob at once
    alice.sees(world.bob_id, "online")  # and subscribed to bob's presence


def test_a_bad_list_through_the_node_adds_nothing_and_names_the_line(
    world: World, tmp_path: Path
) -> None:
    alice = world.alice
    listing = tmp_path / "contacts.txt"
    listing.write_text(f"{world.bob_id} bob\n{CAROL[:-1]} carol\n{world.alice_id} me\n")
    result = kith(alice.data_dir, "contacts", "import", str(listing))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    problems = result.stderr.splitlines()
    assert problems[0] == "kith: nothing imported: 2 bad lines"
    assert problems[1].startswith("line 2: invalid Kith ID")
    assert problems[2].startswith("line 3: that is your own ID")
    assert alice.api.contacts() == []


def test_the_import_endpoint_takes_lists_larger_than_other_bodies(world: World) -> None:
    many = [IdentityKeys(n.to_bytes(32, "big")).kith_id for n in range(1, 1201)]
    body = {"contacts": [{"id": kith_id, "name": f"contact {n}"} for n, kith_id in enumerate(many)]}
    status, reply = call(world.alice, "POST", "/api/contacts/import", body)
    assert (status, reply["imported"], reply["skipped"]) == (200, 1200, 0)
    assert len(world.alice.api.contacts()) == 1200
    status, reply = call(world.alice, "POST", "/api/contacts/import", {"entries": []})
    assert (status, reply["error"]["code"]) == (400, "bad_request")
    body = {"contacts": [{"id": "nope", "where": "line 4"}]}
    status, reply = call(world.alice, "POST", "/api/contacts/import", body)
    assert (status, reply["error"]["code"]) == (400, "invalid_contact_list")
    assert "\nline 4: invalid Kith ID" in reply["error"]["message"]
