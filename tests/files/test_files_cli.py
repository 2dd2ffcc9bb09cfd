"""``kith send --file``, ``kith files`` and ``kith messages --json`` with files, on real nodes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


def _files(data_dir: Path, contact: str) -> list[dict[str, Any]]:
    return json.loads(ok(kith(data_dir, "files", contact, "--json")))  # type: ignore[no-any-return]


def test_send_a_file_list_it_and_save_it(world: ChatWorld, tmp_path: Path) -> None:
    (a,) = world.start("a")
    source = tmp_path / "notes.txt"
    data = os.urandom(200_000)
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    # bob is offline: queued, exit 0
    out = ok(kith(a.data_dir, "send", "b", "--file", str(source), "--text", "read this"))
    assert "Queued notes.txt" in out
    (listed,) = _files(a.data_dir, "b")
    assert (listed["name"], listed["size"], listed["sha256"]) == ("notes.txt", 200_000, digest)
    assert (listed["state"], listed["direction"], listed["caption"]) == (
        "queued",
        "out",
        "read this",
    )
    file_id = listed["id"]
    (b,) = world.start("b")

    def received() -> list[dict[str, Any]] | None:
        found = _files(b.data_dir, "a")
        return found if found and found[0]["state"] == "received" else None

    (got,) = wait_for(received, "bob to receive the file", 30)
    assert (got["id"], got["sha256"], got["bytes_done"]) == (file_id, digest, 200_000)
    messages = json.loads(ok(kith(b.data_dir, "messages", "a", "--json")))
    assert messages[0]["text"] == "read this"
    assert messages[0]["file"] == {
        "id": file_id,
        "name": "notes.txt",
        "size": 200_000,
        "sha256": digest,
        "state": "received",
        "bytes_done": 200_000,
    }
    dest = tmp_path / "saved" / "copy.txt"
    dest.parent.mkdir()
    out = ok(kith(b.data_dir, "files", "save", file_id, str(dest)))
    assert "Saved notes.txt" in out
    assert dest.read_bytes() == data
    again = kith(b.data_dir, "files", "save", file_id, str(dest))
    assert again.returncode == 1
    assert "exists already" in again.stderr
    human = ok(kith(b.data_dir, "files", "a"))
    assert "notes.txt" in human
    assert "received 100%" in human


def test_bad_paths_are_clear_errors_and_queue_nothing(world: ChatWorld, tmp_path: Path) -> None:
    (a,) = world.start("a")
    missing = kith(a.data_dir, "send", "b", "--file", str(tmp_path / "nope.bin"))
    assert missing.returncode == 1
    assert "no such file" in missing.stderr
    directory = kith(a.data_dir, "send", "b", "--file", str(tmp_path))
    assert directory.returncode == 1
    assert "is a directory" in directory.stderr
    assert _files(a.data_dir, "b") == []
    assert json.loads(ok(kith(a.data_dir, "messages", "b", "--json"))) == []
    usage = kith(a.data_dir, "files", "save", "x")
    assert usage.returncode == 2
    unknown = kith(a.data_dir, "files", "cancel", "0" * 32)
    assert unknown.returncode == 1
    assert "no file transfer" in unknown.stderr


def test_files_need_the_running_node(world: ChatWorld, tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("hello")
    result = kith(world.dirs["a"], "send", "b", "--file", str(source))
    assert result.returncode == 1
    assert "kith run" in result.stderr
