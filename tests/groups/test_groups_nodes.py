"""Groups between real nodes through a real kith-signal, driven through the local API:
create, add (four members), everyone sends and sees every message once, each sender's
in order; remove: the rest rotate and the
removed node cannot open the next message; a member cannot change membership; the server
sees no group name, ID or member list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from kith_testkit import group_api as groups
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
NAME = "Trailheads of Tuesday"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatWorld]:
    root = tmp_path_factory.mktemp("groups")
    w = ChatWorld(root, "abcd", server_flags=("--data-dir", str(root / "server")))
    w.start("a", "b", "c", "d")  # d: the fourth member of the first test's group
    groups.all_online(w, "abcd")
    yield w
    w.close()


def test_a_group_chat_and_a_removal_that_locks_the_removed_member_out(world: ChatWorld) -> None:
    a, b, c = (world.nodes[n] for n in "abc")
    ids = world.ids
    status, created = call(a, "POST", "/api/groups", {"name": NAME, "members": [ids["b"]]})
    assert status == 201, created
    gid = created["id"]
    assert {m["id"]: m["role"] for m in created["members"]} == {
        ids["a"]: "admin",
        ids["b"]: "member",
    }
    groups.wait_group(world, "b", gid, lambda g: g["version"] == 1, "the group")
    for added in "cd":
        status, _ = call(a, "POST", f"/api/groups/{gid}/members", {"member": ids[added]})
        assert status == 200
    for who in "bcd":
        groups.wait_group(world, who, gid, lambda g: len(g["members"]) == 4, "four members")
    shown = {m["id"]: m for m in call(a, "GET", f"/api/groups/{gid}")[1]["members"]}
    assert shown[ids["a"]]["you"]
    assert (shown[ids["b"]]["name"], shown[ids["b"]]["verified"]) == ("b", False)
    assert shown[ids["b"]]["status"] == "online"  # presence: b is a's contact

    # a member who is not an admin cannot change the membership
    status, body = call(b, "DELETE", f"/api/groups/{gid}/members/{ids['c']}")
    assert (status, body["error"]["code"]) == (403, "forged_group_change")
    status, body = call(c, "POST", f"/api/groups/{quote(NAME)}/messages", {"text": ""})
    assert status == 400

    sealed = {}
    for n in (1, 2):
        for who in "abcd":
            text = f"{who}{n}"
            status, sent = call(
                world.nodes[who], "POST", f"/api/groups/{gid}/messages", {"text": text}
            )
            assert status == 201
            sealed[text] = sent["sealed"]
    everything = sorted(sealed)
    for who in "abcd":
        got = groups.wait_count(world, who, gid, 8)
        assert sorted(m["body"] for m in got) == everything  # each once
        assert {m["sender"] for m in got} == {ids[n] for n in "abcd"}
        for sender in "abcd":  # each sender's messages in the order sent
            mine = [m["body"] for m in got if m["sender"] == ids[sender]]
            assert mine == [f"{sender}1", f"{sender}2"], (who, sender)

    # a tampered copy, a replayed copy: each refused with its error, nothing else lost
    flipped = bytearray.fromhex(sealed["a1"])
    flipped[-70] ^= 1
    path = f"/api/groups/{gid}/sealed"
    status, body = call(b, "POST", path, {"from": ids["a"], "sealed": flipped.hex()})
    assert (status, body["error"]["code"]) == (400, "tampered_group_message")
    status, body = call(b, "POST", path, {"from": ids["a"], "sealed": sealed["a1"]})
    assert (status, body["error"]["code"]) == (409, "group_message_key_unavailable")

    status, _ = call(a, "DELETE", f"/api/groups/{gid}/members/{ids['c']}")
    assert status == 200
    groups.wait_group(world, "b", gid, lambda g: g["version"] == 4, "c's removal")
    groups.wait_group(world, "c", gid, lambda g: not g["active"], "that it was removed")
    # each change carries when this node applied it: the removal after the messages before it
    changes = call(a, "GET", f"/api/groups/{gid}")[1]["changes"]
    assert [ch["op"] for ch in changes] == ["create", "add", "add", "remove"]
    applied = [ch["applied_at"] for ch in changes]
    assert None not in applied
    assert applied == sorted(applied)
    before = [
        m["received_at"] for m in groups.wait_count(world, "a", gid, 8) if m["body"] in sealed
    ]
    assert max(before) <= applied[3]
    assert min(before) >= applied[2]
    status, sent = call(a, "POST", f"/api/groups/{gid}/messages", {"text": "after c left"})
    assert status == 201
    got = groups.wait_count(world, "b", gid, 9)
    assert got[-1]["body"] == "after c left"
    # the removed node is handed the ciphertext and cannot open it
    status, body = call(
        c, "POST", f"/api/groups/{gid}/sealed", {"from": ids["a"], "sealed": sent["sealed"]}
    )
    assert (status, body["error"]["code"]) == (403, "not_a_group_member")
    assert len(groups.wait_count(world, "c", gid, 8)) == 8
    # a message from a member no longer in the group is refused
    status, body = call(b, "POST", path, {"from": ids["c"], "sealed": sealed["c1"]})
    assert (status, body["error"]["code"]) == (403, "not_a_group_member")
    got = groups.wait_count(world, "b", gid, 9)
    assert sorted(m["body"] for m in got) == sorted([*everything, "after c left"])

    # the server saw pairwise traffic only: no group name, ID or member list
    log = world.server.log_text()
    assert NAME not in log
    assert gid not in log
    assert not any(ids[n] in log for n in "abcd")
    stored = b"".join(
        p.read_bytes() for p in (world.dirs["a"].parent / "server").rglob("*") if p.is_file()
    )
    assert NAME.encode() not in stored
    assert bytes.fromhex(gid) not in stored
    assert gid.encode() not in stored


def _message(world: ChatWorld, who: str, gid: str, mid: str, check: Any, what: str) -> Any:
    def found(got: list[dict[str, Any]]) -> bool:
        return any(m["id"] == mid and check(m) for m in got)

    got = groups.wait_messages(world, who, gid, found, what)
    return next(m for m in got if m["id"] == mid)


def test_edits_deletes_reactions_receipts_and_typing_in_a_group(world: ChatWorld) -> None:
    a, b, c = (world.nodes[n] for n in "abc")
    ids = world.ids
    ok(kith(world.dirs["b"], "settings", "set", "read_receipts", "true"))  # c's stay off
    made = groups.create(world, "a", "Crag", "bc")
    gid = made["id"]
    for who in "bc":
        groups.wait_group(world, who, gid, lambda g: g["version"] == 1, "the group")
    status, sent = call(a, "POST", f"/api/groups/{gid}/messages", {"text": "hello"})
    assert status == 201
    mid = sent["message"]["id"]
    assert sent["message"]["receipts"] == {"delivered": 0, "read": 0, "of": 2}

    # delivered to both, then read by b only (c read it too, but its receipts are off)
    shown = _message(world, "a", gid, mid, lambda m: m["receipts"]["delivered"] == 2, "delivered")
    assert shown["receipts"] == {"delivered": 2, "read": 0, "of": 2}
    assert call(c, "POST", f"/api/groups/{gid}/read", {"ids": [mid]})[1] == {"read": [mid]}
    assert call(c, "POST", f"/api/groups/{gid}/read", {"ids": [mid]})[1] == {"read": []}
    path = f"/api/groups/{gid}/messages/{mid}/reactions"
    assert call(c, "POST", path, {"emoji": "👍"})[0] == 200
    # c's reaction follows any read receipt of c's on the same session: none came
    shown = _message(world, "a", gid, mid, lambda m: m["reactions"], "c's reaction")
    assert shown["reactions"] == {"👍": [ids["c"]]}
    assert shown["receipts"]["read"] == 0
    assert "Marked 1 messages read" in ok(kith(world.dirs["b"], "groups", "read", "Crag"))
    shown = _message(world, "a", gid, mid, lambda m: m["receipts"]["read"] == 1, "b's read")
    assert shown["receipts"] == {"delivered": 2, "read": 1, "of": 2}
    assert "read by 1 of 2" in ok(kith(world.dirs["a"], "messages", "Crag"))
    status, body = call(b, "POST", f"/api/groups/{gid}/read", {"ids": "all"})
    assert (status, body["error"]["code"]) == (400, "bad_request")

    # the author edits; another member may not
    edit = f"/api/groups/{gid}/messages/{mid}"
    status, edited = call(a, "PATCH", edit, {"text": "hello, all"})
    assert (status, edited["body"], edited["edited"]) == (200, "hello, all", True)
    for who in "bc":
        _message(world, who, gid, mid, lambda m: m["body"] == "hello, all", "the edit")
    status, body = call(b, "PATCH", edit, {"text": "not yours"})
    assert (status, body["error"]["code"]) == (403, "refused_group_action")
    status, body = call(b, "DELETE", edit)
    assert (status, body["error"]["code"]) == (403, "refused_group_action")
    status, body = call(a, "PATCH", f"/api/groups/{gid}/messages/{'0' * 32}", {"text": "x"})
    assert (status, body["error"]["code"]) == (404, "unknown_message")
    status, body = call(c, "POST", path, {"emoji": "x" * 33})
    assert (status, body["error"]["code"]) == (400, "invalid_group_change")

    # b reacts and takes it back; a sees each, b's typing is a live event on a
    watcher = EventWatcher(a)
    try:
        assert call(b, "POST", f"/api/groups/{gid}/typing", {"typing": True})[0] == 204
        typing = watcher.wait(
            lambda e: e["type"] == "group_typing" and e["group"] == gid, "b typing"
        )
        assert (typing["member"], typing["typing"]) == (ids["b"], True)
    finally:
        watcher.close()
    assert call(b, "POST", path, {"emoji": "🎉"})[0] == 200
    status, unreacted = call(b, "DELETE", f"{path}/{quote('🎉')}")
    assert (status, unreacted["reactions"]) == (200, {"👍": [ids["c"]]})
    assert "Reaction added" in ok(kith(world.dirs["c"], "groups", "react", "Crag", mid, "🎉"))
    _message(world, "a", gid, mid, lambda m: "🎉" in m["reactions"], "c's reaction from the CLI")
    ok(kith(world.dirs["c"], "groups", "react", "Crag", mid, "🎉", "--remove"))
    refused = kith(world.dirs["c"], "groups", "edit", "Crag", mid, "not c's")
    assert refused.returncode == 1
    assert "only the author" in refused.stderr
    _message(world, "a", gid, mid, lambda m: "🎉" not in m["reactions"], "c's reaction gone")
    history = json.loads(ok(kith(world.dirs["a"], "messages", "Crag", "--json")))
    assert [(m["body"], m["edited"]) for m in history] == [("hello, all", True)]
    assert history[0]["receipts"] == {"delivered": 2, "read": 1, "of": 2}

    # the author deletes: text and reactions gone everywhere
    assert call(a, "DELETE", edit)[0] == 204
    for who in "bc":
        gone = _message(world, who, gid, mid, lambda m: m["deleted"], "the delete")
        assert (gone["body"], gone["reactions"]) == ("", {})
    status, body = call(c, "POST", path, {"emoji": "👍"})
    assert (status, body["error"]["code"]) == (403, "refused_group_action")
    assert not [r for r in call(a, "GET", "/api/group-rejections")[1]["rejections"]]


def test_the_cli_creates_lists_and_messages_a_group_and_asks_which_for_a_shared_name(
    world: ChatWorld,
) -> None:
    b = world.dirs["b"]
    made = json.loads(ok(kith(b, "groups", "create", "Ropes", "--member", "a", "--json")))
    assert [m["role"] for m in made["members"] if m["id"] == world.ids["b"]] == ["admin"]
    listed = json.loads(ok(kith(b, "groups", "list", "--json")))
    assert made["id"] in {g["id"] for g in listed}
    shown = json.loads(ok(kith(b, "groups", "show", "Ropes", "--json")))
    table = ok(kith(b, "groups", "show", "Ropes"))
    assert "SAFETY" in table
    assert "not verified" in table
    assert {m["id"] for m in shown["members"]} == {world.ids["a"], world.ids["b"]}
    watcher = EventWatcher(world.nodes["a"])
    try:
        ok(kith(b, "send", "Ropes", "from the command line"))
        event = watcher.wait(
            lambda e: e["type"] == "group_message" and e["message"]["group"] == made["id"],
            "the message as a live event",
        )
    finally:
        watcher.close()
    assert event["message"]["body"] == "from the command line"
    got = groups.wait_count(world, "a", made["id"], 1)
    assert [m["body"] for m in got] == ["from the command line"]
    history = json.loads(ok(kith(b, "messages", "Ropes", "--json")))
    assert [m["body"] for m in history] == ["from the command line"]
    bad = kith(b, "groups", "add", "Ropes", "nobody-known")
    assert bad.returncode == 1
    assert "nobody-known" in bad.stderr

    # "c" is a contact's name; a group called "c" makes the name ambiguous
    ok(kith(b, "groups", "create", "c", "--member", "a"))
    clash = kith(b, "send", "c", "which one?")
    assert clash.returncode == 1
    assert "both a contact and a group" in clash.stderr


def test_a_member_offline_during_two_changes_and_a_restart_of_the_sender_gets_everything(
    world: ChatWorld,
) -> None:
    a, ids = world.nodes["a"], world.ids
    made = groups.create(world, "a", "Summit", "bc")
    gid = made["id"]
    groups.wait_group(world, "c", gid, lambda g: g["version"] == 1, "the group")
    groups.post(world, "a", gid, "before")
    groups.wait_count(world, "c", gid, 1)
    assert world.nodes["c"].stop() == 0
    world.nodes["a"].sees(ids["c"], "offline")

    assert call(a, "POST", f"/api/groups/{gid}/rename", {"name": "Summit II"})[0] == 200
    assert call(a, "POST", f"/api/groups/{gid}/promote", {"member": ids["b"]})[0] == 200
    groups.post(world, "a", gid, "while c was away")
    groups.wait_group(world, "b", gid, lambda g: g["version"] == 3, "both changes")

    # the sender restarts before c returns: what waits for c is in its outbox, not in memory
    assert world.nodes["a"].stop() == 0
    world.start("a")
    world.start("c")
    world.online("a", "c")
    back = groups.wait_group(
        world, "c", gid, lambda g: g["version"] == 3, "both changes after its return"
    )
    assert back["name"] == "Summit II"
    assert {m["id"]: m["role"] for m in back["members"]}[ids["b"]] == "admin"
    got = groups.wait_count(world, "c", gid, 2)
    assert [m["body"] for m in got] == ["before", "while c was away"]


def test_leave_hands_the_group_over_and_a_rejoined_member_reads_what_follows(
    world: ChatWorld,
) -> None:
    a, b, ids = world.nodes["a"], world.nodes["b"], world.ids
    made = groups.create(world, "b", "Ferry", "a")
    gid = made["id"]
    groups.wait_group(world, "a", gid, lambda g: g["version"] == 1, "the group")
    status, left = call(b, "POST", f"/api/groups/{gid}/leave")
    assert status == 200
    assert not left["active"]
    handed = groups.wait_group(world, "a", gid, lambda g: g["version"] == 2, "b's leave")
    assert [(m["id"], m["role"]) for m in handed["members"]] == [(ids["a"], "admin")]
    status, body = call(b, "POST", f"/api/groups/{gid}/messages", {"text": "still here?"})
    assert (status, body["error"]["code"]) == (400, "invalid_group_change")

    assert call(a, "POST", f"/api/groups/{gid}/members", {"member": ids["b"]})[0] == 200
    groups.wait_group(world, "b", gid, lambda g: g["version"] == 3 and g["active"], "its return")
    groups.post(world, "a", gid, "welcome back")
    assert [m["body"] for m in groups.wait_count(world, "b", gid, 1)] == ["welcome back"]
    groups.post(world, "b", gid, "thanks")
    assert sorted(m["body"] for m in groups.wait_count(world, "a", gid, 2)) == [
        "thanks",
        "welcome back",
    ]


def test_two_admins_renaming_at_once_converge_on_one_name_everywhere(world: ChatWorld) -> None:
    a, ids = world.nodes["a"], world.ids
    made = groups.create(world, "a", "Relay", "bc")
    gid = made["id"]
    assert call(a, "POST", f"/api/groups/{gid}/promote", {"member": ids["b"]})[0] == 200
    for who in "bc":
        groups.wait_group(world, who, gid, lambda g: g["version"] == 2, "b promoted")

    # b renames while cut off from the server, a renames meanwhile: two version 3s
    assert world.nodes["b"].stop() == 0
    ok(kith(world.dirs["b"], "settings", "set", "signaling_url", "ws://127.0.0.1:9"))
    b = world.start("b")[0]
    assert call(b, "POST", f"/api/groups/{gid}/rename", {"name": "B-side"})[0] == 200
    assert call(a, "POST", f"/api/groups/{gid}/rename", {"name": "A-side"})[0] == 200
    groups.wait_group(world, "c", gid, lambda g: g["name"] == "A-side", "a's rename")
    assert b.stop() == 0
    ok(kith(world.dirs["b"], "settings", "set", "signaling_url", world.server.url))
    world.start("b")
    world.online("a", "b")

    def settled(who: str) -> str:
        return str(
            groups.wait_group(world, who, gid, lambda g: g["version"] == 3, "version 3")["name"]
        )

    def same_everywhere() -> str | None:
        names = {settled(who) for who in "abc"}
        return names.pop() if len(names) == 1 else None

    name = wait_for(same_everywhere, "one name on every node", 20.0)
    assert name in {"A-side", "B-side"}


def test_a_message_for_a_member_who_is_away_goes_through_the_sealed_mailbox(
    world: ChatWorld,
) -> None:
    a, ids = world.nodes["a"], world.ids
    made = groups.create(world, "a", "Letters", "c")
    gid = made["id"]
    groups.post(world, "a", gid, "first")
    groups.wait_count(world, "c", gid, 1)  # the group and a's chain are in place on c
    assert world.nodes["c"].stop() == 0
    a.sees(ids["c"], "offline")
    groups.post(world, "a", gid, "by mail")
    # a leaves before c returns: only the mailbox can bring the message
    assert a.stop() == 0
    world.start("c")
    got = groups.wait_count(world, "c", gid, 2)
    assert [m["body"] for m in got] == ["first", "by mail"]
    world.start("a")
