"""Small files through the sealed offline mailbox: a real ``kith-signal
--data-dir``, real ``kith run`` processes, acting through the nodes' local APIs
and the CLI. The two users are never online at the same time."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith.files.parcel import PARCEL_MAX_SIZE
from kith_testkit.chat_world import ChatWorld
from kith_testkit.file_api import file_info, send_file, wait_file
from kith_testkit.mailbox_world import (
    item_ids,
    mailbox_file,
    mailbox_world,
    serve_again,
    wait_items,
)
from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess, kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    with mailbox_world(tmp_path) as w:
        yield w


def _source(tmp_path: Path, size: int, name: str = "notes.bin") -> tuple[Path, bytes]:
    path = tmp_path / name
    data = os.urandom(size)
    path.write_bytes(data)
    return path, data


def _send(node: NodeProcess, contact: str, path: Path, caption: str = "") -> str:
    return str(send_file(node, contact, path, caption)["file"]["id"])


def _wait_state(node: NodeProcess, file_id: str, state: str, what: str) -> dict[str, Any]:
    return wait_file(node, file_id, lambda f: f["state"] == state, what)


def _left_for_b(
    world: ChatWorld, tmp_path: Path, size: int, items: int, caption: str = ""
) -> tuple[str, bytes, set[int]]:
    """Alice sends bob (offline) a file of ``size`` bytes and stops once the
    mailbox holds ``items`` items: the file's ID and bytes, and those items."""
    (a,) = world.start("a")
    source, data = _source(tmp_path, size)
    file_id = _send(a, world.ids["b"], source, caption)
    deposited = wait_items(tmp_path, items)
    assert a.stop() == 0
    return file_id, data, deposited


def test_a_small_file_reaches_an_offline_contact_through_the_mailbox(
    world: ChatWorld, tmp_path: Path
) -> None:
    file_id, data, deposited = _left_for_b(world, tmp_path, PARCEL_MAX_SIZE, 2, "for later")
    (b,) = world.start("b")
    got = _wait_state(b, file_id, "received", "bob to receive the file")
    assert (got["size"], got["sha256"], got["name"], got["caption"]) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        "notes.bin",
        "for later",
    )
    dest = tmp_path / "saved.bin"
    ok(kith(b.data_dir, "files", "save", file_id, str(dest)))
    assert dest.read_bytes() == data
    listed = json.loads(ok(kith(b.data_dir, "files", "a", "--json")))
    assert [(f["id"], f["state"], f["direction"]) for f in listed] == [(file_id, "received", "in")]
    world.wait_history("b", "a", lambda ms: [m.id for m in ms] == [file_id], "the message")
    messages = json.loads(ok(kith(b.data_dir, "messages", "a", "--json")))
    (message,) = [m for m in messages if m["id"] == file_id]
    assert message["via"] == "mailbox"
    assert (message["file"]["state"], message["file"]["sha256"]) == ("received", got["sha256"])
    # bob's receipt and "done" wait in alice's mailbox: she learns it without bob online
    wait_for(lambda: len(item_ids(tmp_path) - deposited) >= 2 or None, "bob's receipt and done")
    assert b.stop() == 0
    (a,) = world.start("a")
    _wait_state(a, file_id, "received", "alice to see the file received")


def test_a_file_over_the_limit_waits_for_a_channel(world: ChatWorld, tmp_path: Path) -> None:
    file_id, data, deposited = _left_for_b(world, tmp_path, PARCEL_MAX_SIZE + 1, 1)  # no file
    assert len(item_ids(tmp_path)) == 1
    (b,) = world.start("b")
    world.wait_history("b", "a", lambda ms: [m.id for m in ms] == [file_id], "the message")
    wait_for(lambda: item_ids(tmp_path).isdisjoint(deposited) or None, "bob to ack it")
    status, body = call(b, "GET", f"/api/contacts/{world.ids['a']}/files")
    assert (status, body) == (200, {"files": []})
    world.start("a")
    _wait_state(b, file_id, "received", "the file over a channel once both are online")
    dest = tmp_path / "saved.bin"
    ok(kith(b.data_dir, "files", "save", file_id, str(dest)))
    assert dest.read_bytes() == data


def test_a_small_file_that_would_fill_the_receivers_disk_is_refused_on_both_sides(
    world: ChatWorld, tmp_path: Path
) -> None:
    file_id, _, deposited = _left_for_b(world, tmp_path, 5_000, 2)  # the message and the file
    (b,) = world.start("b", flags=("--file-reserve", "1000000000"))  # ~1 EiB must stay free
    refused = _wait_state(b, file_id, "failed", "bob to refuse the file")
    assert refused["reason"] == "too_large"
    world.wait_history("b", "a", lambda ms: [m.id for m in ms] == [file_id], "the message")
    wait_for(lambda: len(item_ids(tmp_path) - deposited) >= 2 or None, "receipt and refusal")
    assert b.stop() == 0
    (a,) = world.start("a")
    told = _wait_state(a, file_id, "failed", "alice to learn of the refusal")
    assert told["reason"] == "too_large"


def test_a_tampered_file_item_is_dropped_and_nothing_else_is_lost(
    world: ChatWorld, tmp_path: Path
) -> None:
    (a,) = world.start("a")
    source, data = _source(tmp_path, 5_000)
    file_id = _send(a, world.ids["b"], source)
    ok(kith(a.data_dir, "send", "b", "and a note"))
    deposited = wait_items(tmp_path, 3)
    assert a.stop() == 0
    with sqlite3.connect(mailbox_file(tmp_path)) as db:
        # the file's item is the only one in the largest bucket
        item_id, item = db.execute(
            "SELECT id, payload FROM items ORDER BY length(payload) DESC"
        ).fetchone()
        flipped = bytes([*item[:50], item[50] ^ 1, *item[51:]])
        db.execute("UPDATE items SET payload = ? WHERE id = ?", (flipped, item_id))
    (b,) = world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 2, "both messages")
    assert [m.via for m in got] == ["mailbox", "mailbox"]
    wait_for(lambda: any("tampered" in line for line in b.lines) or None, "the drop logged")
    wait_for(lambda: item_ids(tmp_path).isdisjoint(deposited) or None, "every item acked")
    assert file_info(b, file_id) is None
    # alice's transfer is still queued: her next run delivers it over a channel
    world.start("a")
    _wait_state(b, file_id, "received", "the file once both are online")
    dest = tmp_path / "saved.bin"
    ok(kith(b.data_dir, "files", "save", file_id, str(dest)))
    assert dest.read_bytes() == data


def test_a_small_file_held_then_resumed_goes_through_the_mailbox(
    world: ChatWorld, tmp_path: Path
) -> None:
    """Alice queues and holds a file while her server is away; when it is back
    the message is deposited, the held file is not; resuming deposits it."""
    port = world.server.port
    world.server.stop()
    (a,) = world.start("a")
    source, data = _source(tmp_path, 5_000)
    file_id = _send(a, world.ids["b"], source)
    status, held = call(a, "POST", f"/api/files/{file_id}/pause")
    assert (status, held["state"]) == (200, "paused")
    serve_again(world, tmp_path, port)
    wait_items(tmp_path, 1)  # the message
    status, resumed = call(a, "POST", f"/api/files/{file_id}/resume")
    assert (status, resumed["state"]) == (200, "queued")
    wait_items(tmp_path, 2)  # and now the file
    assert a.stop() == 0
    (b,) = world.start("b")
    _wait_state(b, file_id, "received", "bob to receive the resumed file")
    dest = tmp_path / "saved.bin"
    ok(kith(b.data_dir, "files", "save", file_id, str(dest)))
    assert dest.read_bytes() == data
