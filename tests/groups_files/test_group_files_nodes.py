"""Files in a group of three real nodes through a real kith-signal: the post goes to every
member sealed with the sender's chain, the bytes pairwise, one transfer per member.

A file sent with ``kith send GROUP --file`` arrives byte-identical and verified at both
other members and is listed with its ``file`` on all three; a member offline when it is
sent gets it on its return; a member removed before it is sent gets neither the post nor
the bytes; a bad path is refused with its error and queues nothing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit import group_api as groups
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.nodes import kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
WAIT = 20.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatWorld]:
    root = tmp_path_factory.mktemp("group-files")
    w = ChatWorld(root, "abc")
    w.start("a", "b", "c")
    groups.all_online(w, "abc")
    yield w
    w.close()


def _group(world: ChatWorld, name: str) -> str:
    gid = str(groups.create(world, "a", name, "bc")["id"])
    for who in "bc":
        groups.wait_known(world, who, gid, WAIT)
    return gid


def _payload(tmp_path: Path, name: str, size: int = 200_000) -> tuple[Path, bytes]:
    data = os.urandom(size)  # more than three chunks, the last one short
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def _file_of(world: ChatWorld, who: str, gid: str, mid: str, state: str) -> dict[str, Any]:
    """Wait until ``who`` lists message ``mid`` with its file in ``state``."""

    def probe() -> dict[str, Any] | None:
        history = json.loads(ok(kith(world.dirs[who], "messages", gid, "--json")))
        found = [m for m in history if m["id"] == mid and m.get("file")]
        return found[0] if found and found[0]["file"]["state"] == state else None

    return wait_for(probe, f"{who} lists the file {state}", WAIT)


def _saved(world: ChatWorld, who: str, file_id: str, dest: Path) -> bytes:
    ok(kith(world.dirs[who], "files", "save", file_id, str(dest)))
    return dest.read_bytes()


def test_a_file_sent_to_a_group_arrives_identical_at_both_members_and_is_listed_everywhere(
    world: ChatWorld, tmp_path: Path
) -> None:
    gid = _group(world, "Photo club")
    path, data = _payload(tmp_path, "summit.bin")
    sent = json.loads(
        ok(kith(world.dirs["a"], "send", gid, "--file", str(path), "--text", "the top", "--json"))
    )
    mid = sent["message"]["id"]
    assert sent["message"]["body"] == "the top"
    assert (sent["file"]["name"], sent["file"]["size"]) == ("summit.bin", len(data))
    assert sent["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert {t["member"] for t in sent["file"]["transfers"]} == {world.ids["b"], world.ids["c"]}
    theirs = {}
    for who in "bc":
        message = _file_of(world, who, gid, mid, "received")
        assert message["body"] == "the top"
        assert message["sender"] == world.ids["a"]
        file = message["file"]
        assert (file["name"], file["size"], file["bytes_done"]) == (
            "summit.bin",
            len(data),
            len(data),
        )
        assert file["sha256"] == hashlib.sha256(data).hexdigest()
        assert _saved(world, who, file["id"], tmp_path / f"{who}.bin") == data
        theirs[who] = file["id"]
    mine = _file_of(world, "a", gid, mid, "received")["file"]
    assert [t["state"] for t in mine["transfers"]] == ["received", "received"]

    # deleting the message deletes the file on every side, as in 1:1
    ok(kith(world.dirs["a"], "groups", "delete", gid, mid))
    for who, file_id in theirs.items():

        def gone(who: str = who, file_id: str = file_id) -> bool | None:
            return call(world.nodes[who], "GET", f"/api/files/{file_id}")[0] == 404 or None

        wait_for(gone, f"{who} deleted the file with its message", WAIT)
    for transfer in mine["transfers"]:
        assert call(world.nodes["a"], "GET", f"/api/files/{transfer['id']}")[0] == 404
    assert not (world.dirs["a"] / "files" / f"{mid}.kf").exists()


def test_a_member_offline_when_a_file_is_sent_gets_it_on_return(
    world: ChatWorld, tmp_path: Path
) -> None:
    gid = _group(world, "Away team")
    assert world.nodes["c"].stop() == 0
    world.nodes["a"].sees(world.ids["c"], "offline")
    path, data = _payload(tmp_path, "notes.bin", 100_000)
    sent = json.loads(ok(kith(world.dirs["a"], "send", gid, "--file", str(path), "--json")))
    mid = sent["message"]["id"]
    assert sent["message"]["body"] == "notes.bin"  # no caption: the file's name
    _file_of(world, "b", gid, mid, "received")
    states = {
        t["member"]: t["state"]
        for t in _file_of(world, "a", gid, mid, "queued")["file"]["transfers"]
    }
    assert states[world.ids["b"]] == "received"
    world.start("c")
    world.online("a", "c")
    file = _file_of(world, "c", gid, mid, "received")["file"]
    assert _saved(world, "c", file["id"], tmp_path / "c.bin") == data
    _file_of(world, "a", gid, mid, "received")


def test_a_member_removed_before_a_file_is_sent_does_not_get_it(
    world: ChatWorld, tmp_path: Path
) -> None:
    gid = _group(world, "Inner circle")
    a = world.nodes["a"]
    assert call(a, "DELETE", f"/api/groups/{gid}/members/{world.ids['c']}")[0] == 200
    wait_for(
        lambda: not call(world.nodes["c"], "GET", f"/api/groups/{gid}")[1]["active"],
        "c learns it was removed",
        WAIT,
    )
    path, _ = _payload(tmp_path, "secret-plan.bin", 70_000)
    sent = json.loads(ok(kith(world.dirs["a"], "send", gid, "--file", str(path), "--json")))
    assert [t["member"] for t in sent["file"]["transfers"]] == [world.ids["b"]]
    _file_of(world, "b", gid, mid := sent["message"]["id"], "received")
    # a's side: b's transfer is the only one; c has no such message and no such transfer
    assert (
        _file_of(world, "a", gid, mid, "received")["file"]["transfers"][0]["member"]
        == world.ids["b"]
    )
    status, listed = call(world.nodes["c"], "GET", f"/api/contacts/{world.ids['a']}/files")
    assert status == 200
    assert "secret-plan.bin" not in {f["name"] for f in listed["files"]}
    history = json.loads(ok(kith(world.dirs["c"], "messages", gid, "--json")))
    assert mid not in {m["id"] for m in history}


def test_a_bad_path_is_refused_with_its_error_and_queues_nothing(
    world: ChatWorld, tmp_path: Path
) -> None:
    gid = _group(world, "Careful")
    before = json.loads(ok(kith(world.dirs["a"], "messages", gid, "--json")))
    missing = kith(world.dirs["a"], "send", gid, "--file", str(tmp_path / "nope.bin"))
    assert missing.returncode == 1
    assert "no such file" in missing.stderr
    folder = kith(world.dirs["a"], "send", gid, "--file", str(tmp_path))
    assert folder.returncode == 1
    assert "is a directory" in folder.stderr
    status, body = call(
        world.nodes["a"], "POST", f"/api/groups/{gid}/files", {"path": "relative/x.bin"}
    )
    assert (status, body["error"]["code"]) == (400, "relative_path")
    status, body = call(
        world.nodes["a"], "POST", "/api/groups/" + "00" * 16 + "/files", {"path": str(tmp_path)}
    )
    assert (status, body["error"]["code"]) == (404, "unknown_group")
    after = json.loads(ok(kith(world.dirs["a"], "messages", gid, "--json")))
    assert after == before


def test_a_file_too_large_for_one_member_is_refused_there_and_reaches_the_others(
    world: ChatWorld, tmp_path: Path
) -> None:
    gid = _group(world, "Big files")
    assert world.nodes["b"].stop() == 0
    world.start("b", flags=("--file-reserve", "1000000000"))  # ~1 EiB must stay free
    try:
        _refused_at_b(world, gid, tmp_path)
    finally:
        assert world.nodes["b"].stop() == 0
        world.start("b")  # as the other tests have it
        world.online("a", "b")


def _refused_at_b(world: ChatWorld, gid: str, tmp_path: Path) -> None:
    world.online("a", "b")
    path, data = _payload(tmp_path, "huge.bin", 70_000)
    sent = json.loads(ok(kith(world.dirs["a"], "send", gid, "--file", str(path), "--json")))
    mid = sent["message"]["id"]
    refused = _file_of(world, "b", gid, mid, "failed")["file"]
    assert (refused["reason"], refused["bytes_done"]) == ("too_large", 0)
    got = _file_of(world, "c", gid, mid, "received")["file"]
    assert _saved(world, "c", got["id"], tmp_path / "c.bin") == data

    def settled() -> dict[str, str] | None:
        history = json.loads(ok(kith(world.dirs["a"], "messages", gid, "--json")))
        file = next(m["file"] for m in history if m["id"] == mid)
        states = {t["member"]: f"{t['state']} {t['reason']}" for t in file["transfers"]}
        ended = all(s.split()[0] in ("received", "failed") for s in states.values())
        return states if ended and file["state"] == "received" else None

    states = wait_for(settled, "a sees b refuse and c receive", WAIT)
    assert states == {world.ids["b"]: "failed too_large", world.ids["c"]: "received None"}
