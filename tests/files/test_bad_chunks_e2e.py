"""Bad chunks end to end: real ``kith-signal``, real ``kith run`` nodes, real WebRTC.

The sender misbehaves without any seam in the node: the test changes the
sender's vault file on disk while the transfer is queued (the contact
offline). Replaced by a valid vault file of other bytes (encrypted under the
sender's own vault key, read from its database), every chunk goes out
authentic but the whole does not match the offer's SHA-256: the receiver
discards it and both sides end ``failed`` with ``hash_mismatch``. Cut short,
the sender cannot read a chunk: the transfer ends on both sides and the
receiver drops what it held. Either way nothing half-written is ever shown
as received.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from kith.account import open_store
from kith.datadir import DataDir
from kith.files import CHUNK_SIZE
from kith.passphrases import FixedPassphrase
from kith.store.file_vault import VAULT_DIR, FileVault
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import PASSPHRASE, NodeProcess
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow

CHUNKS = 40  # more than the sender's window (32), so a damaged chunk is met mid-transfer
SIZE = CHUNKS * CHUNK_SIZE - 999


def _queued(world: ChatWorld, tmp_path: Path) -> tuple[NodeProcess, str, bytes]:
    """Alice queues a file for Bob, who is offline."""
    (a,) = world.start("a")
    source = tmp_path / "report.pdf"
    source.write_bytes(os.urandom(SIZE))
    status, body = call(a, "POST", f"/api/contacts/{world.ids['b']}/files", {"path": str(source)})
    assert status == 201, body
    assert body["file"]["state"] == "queued"
    return a, body["file"]["id"], source.read_bytes()


def _sender_vault(world: ChatWorld) -> FileVault:
    data_dir = DataDir(world.dirs["a"])
    with open_store(data_dir, FixedPassphrase(PASSPHRASE)) as store:
        key = store.files.vault_key()
    return FileVault(data_dir.path / VAULT_DIR, key)


def _file(node: NodeProcess, file_id: str) -> dict[str, Any] | None:
    status, body = call(node, "GET", f"/api/files/{file_id}")
    return body if status == 200 else None


def _ended(node: NodeProcess, file_id: str, what: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = _file(node, file_id)
        return found if found is not None and found["state"] in ("failed", "cancelled") else None

    return wait_for(probe, what, timeout=90)


def _nothing_presented(world: ChatWorld, b: NodeProcess, file_id: str, tmp_path: Path) -> None:
    assert not (world.dirs["b"] / VAULT_DIR / f"{file_id}.kf").exists()
    dest = tmp_path / "saved.pdf"
    status, body = call(b, "POST", f"/api/files/{file_id}/save", {"dest": str(dest)})
    assert status != 200, body
    assert not dest.exists()


def test_a_tampered_file_fails_with_hash_mismatch_on_both_sides_and_the_user_is_told(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, file_id, original = _queued(world, tmp_path)
    other = bytearray(original)
    other[CHUNK_SIZE * 35 + 10] ^= 0x01  # one byte of chunk 35, past the first window
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(bytes(other))
    size, digest = _sender_vault(world).import_file(file_id, tampered)
    assert size == SIZE
    assert digest != hashlib.sha256(original).hexdigest()

    (b,) = world.start("b")
    watcher = EventWatcher(b)
    got = _ended(b, file_id, "bob to end the transfer")
    assert (got["state"], got["reason"]) == ("failed", "hash_mismatch")
    watcher.wait(
        lambda e: e["type"] == "file" and e["file"]["reason"] == "hash_mismatch",
        "bob's page to be told",
    )
    watcher.close()
    states = [e["file"]["state"] for e in watcher.events if e["type"] == "file"]
    assert "received" not in states
    sent = _ended(a, file_id, "alice to hear it failed")
    assert (sent["state"], sent["reason"]) == ("failed", "hash_mismatch")
    _nothing_presented(world, b, file_id, tmp_path)


def test_a_truncated_file_at_the_sender_ends_the_transfer_and_nothing_is_kept(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, file_id, _ = _queued(world, tmp_path)
    stored = world.dirs["a"] / VAULT_DIR / f"{file_id}.kf"
    length = stored.stat().st_size
    os.truncate(stored, length - 3 * CHUNK_SIZE)  # chunks 37 to 39 are gone

    (b,) = world.start("b")
    got = _ended(b, file_id, "bob to end the transfer")
    assert got["state"] in ("failed", "cancelled")
    assert got["bytes_done"] < SIZE
    sent = _ended(a, file_id, "alice to end the transfer")
    assert sent["state"] in ("failed", "cancelled")
    assert any("damaged" in line for line in a.lines)
    _nothing_presented(world, b, file_id, tmp_path)
