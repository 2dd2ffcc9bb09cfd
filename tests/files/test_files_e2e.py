"""Files end to end: a real ``kith-signal``, real ``kith run`` nodes, real WebRTC
on loopback, through the nodes' local APIs."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from kith.chat import short_id
from kith.files import CHUNK_SIZE
from kith_testkit.chat_world import ChatWorld
from kith_testkit.file_api import file_info, send_file, wait_file
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.nodes import NodeProcess
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow

SIZE = 8 * 1024 * 1024 + 12_345  # 8 MiB and a short last chunk
CHUNKS = -(-SIZE // CHUNK_SIZE)


def _source(tmp_path: Path, size: int = SIZE) -> tuple[Path, str]:
    path = tmp_path / "holiday video.mp4"
    with path.open("wb") as out:
        for _ in range(0, size, 1 << 20):
            out.write(os.urandom(min(1 << 20, size - out.tell())))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def resume_line(line: str, file_id: str) -> bool:
    return f"file {short_id(file_id)}" in line and "resumes" in line


def test_a_file_arrives_byte_identical_and_verified(world: ChatWorld, tmp_path: Path) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, digest = _source(tmp_path)
    watcher = EventWatcher(b)
    sent = send_file(a, world.ids["b"], source, "our holiday")
    file_id = sent["file"]["id"]
    assert sent["message"]["id"] == file_id
    assert (sent["file"]["size"], sent["file"]["sha256"]) == (SIZE, digest)
    assert sent["file"]["name"] == "holiday video.mp4"
    got = wait_file(b, file_id, lambda f: f["state"] == "received", "bob to receive the file")
    assert (got["size"], got["sha256"], got["bytes_done"]) == (SIZE, digest, SIZE)
    assert (got["name"], got["caption"], got["direction"]) == (
        "holiday video.mp4",
        "our holiday",
        "in",
    )
    wait_file(a, file_id, lambda f: f["state"] == "received", "alice to hear it arrived")
    # bob's page sees the transfer move on (about once per MiB) and end
    watcher.wait(lambda e: e["type"] == "file" and e["file"]["state"] == "received", "the end")
    progress = [
        e["file"]["bytes_done"]
        for e in watcher.events
        if e["type"] == "file" and e["file"]["id"] == file_id
    ]
    watcher.close()
    assert progress == sorted(progress)
    assert progress[-1] == SIZE
    assert 4 <= len(progress) <= 20
    message = world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to get the message")[0]
    assert (message.id, message.text) == (file_id, "our holiday")
    # saved out, it is the same bytes; stored, it is not the plaintext
    dest = tmp_path / "saved.mp4"
    status, _ = call(b, "POST", f"/api/files/{file_id}/save", {"dest": str(dest)})
    assert status == 200
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest
    stored = (world.dirs["b"] / "files" / f"{file_id}.kf").read_bytes()
    assert source.read_bytes()[:4096] not in stored
    # saving again never overwrites
    status, body = call(b, "POST", f"/api/files/{file_id}/save", {"dest": str(dest)})
    assert (status, body["error"]["code"]) == (409, "destination_exists")


def test_the_receiver_killed_halfway_resumes_where_it_stopped(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, digest = _source(tmp_path)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    wait_file(b, file_id, lambda f: f["bytes_done"] >= SIZE // 2, "half the file", timeout=60)
    b.kill()
    (b,) = world.start("b")
    line = wait_for(
        lambda: next((x for x in a.lines if resume_line(x, file_id)), None),
        "alice to resume the transfer",
        timeout=30,
    )
    match = re.search(r"resumes at chunk (\d+) of (\d+)", line)
    assert match is not None
    have, total = int(match[1]), int(match[2])
    assert total == CHUNKS
    assert have >= CHUNKS // 3  # chunks sent after the restart are well under the full size
    got = wait_file(b, file_id, lambda f: f["state"] == "received", "bob to finish", 60)
    assert got["sha256"] == digest
    dest = tmp_path / "saved.mp4"
    status, _ = call(b, "POST", f"/api/files/{file_id}/save", {"dest": str(dest)})
    assert status == 200
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest


def test_the_sender_killed_halfway_resumes_where_the_receiver_stopped(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, digest = _source(tmp_path)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    wait_file(b, file_id, lambda f: f["bytes_done"] >= SIZE // 2, "half the file", timeout=60)
    a.kill()
    source.unlink()  # what is sent comes from the vault, not from the original
    (a,) = world.start("a")
    line = wait_for(
        lambda: next((x for x in a.lines if resume_line(x, file_id)), None),
        "alice to resume the transfer",
        timeout=30,
    )
    match = re.search(r"resumes at chunk (\d+) of (\d+)", line)
    assert match is not None
    assert int(match[1]) >= CHUNKS // 3
    got = wait_file(b, file_id, lambda f: f["state"] == "received", "bob to finish", 60)
    assert got["sha256"] == digest
    wait_file(a, file_id, lambda f: f["state"] == "received", "alice to hear it arrived")


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_either_side_cancels_mid_transfer(world: ChatWorld, tmp_path: Path, side: str) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, _ = _source(tmp_path, 64 * 1024 * 1024)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    wait_file(b, file_id, lambda f: f["bytes_done"] > 0, "the transfer to start", 30)
    status, body = call(a if side == "sender" else b, "POST", f"/api/files/{file_id}/cancel")
    assert status == 200
    assert body["state"] == "cancelled"
    for node in (a, b):
        got = wait_file(node, file_id, lambda f: f["state"] == "cancelled", "both cancelled", 30)
        assert got["reason"] == "cancelled"
    wait_for(
        lambda: not (world.dirs["b"] / "files" / f"{file_id}.kf").exists() or None,
        "the partial file to be deleted",
        timeout=30,
    )
    status, body = call(b, "POST", f"/api/files/{file_id}/save", {"dest": str(tmp_path / "x")})
    assert (status, body["error"]["code"]) == (400, "not_received")


def test_bad_paths_queue_nothing(world: ChatWorld, tmp_path: Path) -> None:
    (a,) = world.start("a")
    contact = world.ids["b"]
    cases = {
        str(tmp_path / "missing.bin"): "file_not_found",
        str(tmp_path): "is_directory",
        "relative/path.bin": "relative_path",
    }
    for path, code in cases.items():
        status, body = call(a, "POST", f"/api/contacts/{contact}/files", {"path": path})
        assert (status, body["error"]["code"]) == (400, code), path
    status, body = call(a, "GET", f"/api/contacts/{contact}/files")
    assert (status, body) == (200, {"files": []})
    assert world.history("a", "b") == []
    status, body = call(a, "GET", f"/api/files/{'0' * 32}")
    assert (status, body["error"]["code"]) == (404, "unknown_transfer")


def test_a_file_for_an_offline_contact_goes_when_they_come_online(
    world: ChatWorld, tmp_path: Path
) -> None:
    (a,) = world.start("a")
    source, digest = _source(tmp_path, 300_000)
    sent = send_file(a, world.ids["b"], source)
    assert sent["file"]["state"] == "queued"
    assert sent["message"]["state"] == "queued"
    (b,) = world.start("b")
    got = wait_file(b, sent["file"]["id"], lambda f: f["state"] == "received", "bob gets it")
    assert got["sha256"] == digest


def test_a_file_is_deleted_with_its_message_on_both_sides(world: ChatWorld, tmp_path: Path) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, _ = _source(tmp_path, 300_000)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    wait_file(b, file_id, lambda f: f["state"] == "received", "bob to receive the file")
    stored = [world.dirs[n] / "files" / f"{file_id}.kf" for n in "ab"]
    assert all(path.exists() for path in stored)
    status, _ = call(a, "DELETE", f"/api/messages/{file_id}")
    assert status == 204

    def gone() -> bool | None:
        copies = any(path.exists() for path in stored)
        records = any(file_info(node, file_id) is not None for node in (a, b))
        return True if not copies and not records else None

    wait_for(gone, "both copies and both records gone", timeout=30)
    assert source.exists()  # the user's own file is never touched


def test_a_file_larger_than_the_receivers_free_space_is_refused_before_it_is_sent(
    world: ChatWorld, tmp_path: Path
) -> None:
    (a,) = world.start("a")
    (b,) = world.start("b", flags=("--file-reserve", "1000000000"))  # ~1 EiB must stay free
    world.online("a", "b")
    source, _ = _source(tmp_path, 2 * CHUNK_SIZE)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    for node in (a, b):
        got = wait_file(node, file_id, lambda f: f["state"] == "failed", "refused on both sides")
        assert (got["reason"], got["bytes_done"]) == ("too_large", 0)
    assert not (world.dirs["b"] / "files" / f"{file_id}.kf").exists()
    assert any("refused a file" in line and "too large" in line for line in b.lines)


RSS_FILE_MIB = 64
RSS_GROWTH_BOUND_MIB = 16.0  # a quarter of the file (measured: about 4 and 1)


def _rss_mib(node: NodeProcess) -> float:
    status = Path(f"/proc/{node.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_memory_stays_flat_on_both_sides_whatever_the_file_size(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    warm, _ = _source(tmp_path, 3 * CHUNK_SIZE)
    warm_id = send_file(a, world.ids["b"], warm)["file"]["id"]
    wait_file(a, warm_id, lambda f: f["state"] == "received", "a first file (channel warm)")
    before = {n: _rss_mib(n) for n in (a, b)}
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        for _ in range(RSS_FILE_MIB):
            out.write(os.urandom(1 << 20))
    file_id = send_file(a, world.ids["b"], big)["file"]["id"]
    peak = dict(before)

    def done() -> bool | None:
        for node in (a, b):
            peak[node] = max(peak[node], _rss_mib(node))
        found = file_info(a, file_id)
        return True if found is not None and found["state"] == "received" else None

    wait_for(done, "the big file to arrive", timeout=120)
    growth = {("sender" if n is a else "receiver"): peak[n] - before[n] for n in (a, b)}
    assert all(g < RSS_GROWTH_BOUND_MIB for g in growth.values()), growth


def test_a_receiver_away_during_a_cancel_learns_it_when_it_is_back(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, _ = _source(tmp_path, 64 * 1024 * 1024)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    wait_file(b, file_id, lambda f: f["bytes_done"] > 0, "the transfer to start", 30)
    b.kill()
    a.sees(world.ids["b"], "offline")
    status, body = call(a, "POST", f"/api/files/{file_id}/cancel")
    assert (status, body["state"]) == (200, "cancelled")
    (b,) = world.start("b")
    got = wait_file(b, file_id, lambda f: f["state"] == "cancelled", "bob to learn it", 30)
    assert got["reason"] == "cancelled"
    wait_for(
        lambda: not (world.dirs["b"] / "files" / f"{file_id}.kf").exists() or None,
        "bob's partial file deleted",
        timeout=30,
    )


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_a_transfer_held_by_either_side_stays_held_across_a_restart_and_resumes(
    world: ChatWorld, tmp_path: Path, side: str
) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    source, digest = _source(tmp_path, 32 * 1024 * 1024)
    file_id = send_file(a, world.ids["b"], source)["file"]["id"]
    wait_file(b, file_id, lambda f: f["bytes_done"] > 0, "the transfer to start", 30)
    name = "a" if side == "sender" else "b"
    holder = world.nodes[name]
    status, body = call(holder, "POST", f"/api/files/{file_id}/pause")
    assert (status, body["state"], body["reason"]) == (200, "paused", "held")
    holder.kill()
    (holder,) = world.start(name)
    world.online("a", "b")
    held = file_info(holder, file_id)
    assert held is not None
    assert (held["state"], held["reason"]) == ("paused", "held")
    status, body = call(holder, "POST", f"/api/files/{file_id}/resume")
    assert (status, body["reason"]) == (200, None)
    for node in (world.nodes["a"], world.nodes["b"]):
        got = wait_file(node, file_id, lambda f: f["state"] == "received", "both received", 90)
        assert got["sha256"] == digest
