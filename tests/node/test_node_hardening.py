"""A node that bad settings, a second ``kith run`` or its own log cannot hurt.

Real ``kith run`` processes on real SQCipher data directories; the signaling
URL points at a port nothing listens on (the node keeps retrying, which is
all these tests need).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.account import unlock
from kith.datadir import DataDir
from kith.passphrases import FixedPassphrase
from kith.runtime.runtime_file import read_runtime
from kith.store.connection import connect
from kith_proto.ids import format_id
from kith_testkit.nodes import (
    PASSPHRASE,
    NodeProcess,
    add_contact,
    kith,
    kith_env,
    make_identity,
    ok,
)
from kith_testkit.polling import wait_for

UNREACHABLE = "ws://127.0.0.1:9"
HUGE = "9" * 300
#: A key no pair key can be agreed with: the node logs it at start.
UNUSABLE_ID = format_id(b"\x01" + bytes(31))


@pytest.fixture
def alice(tmp_path: Path) -> Path:
    path = tmp_path / "alice"
    make_identity(path, "alice", UNREACHABLE)
    return path


def _store_raw_setting(path: Path, key: str, json_text: str) -> None:
    """What an older version (other bounds) or a hand edit could have left."""
    conn = connect(DataDir(path).db_path, unlock(DataDir(path), FixedPassphrase(PASSPHRASE)))
    try:
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)",
            (key, json_text, time.time()),
        )
    finally:
        conn.close()


@pytest.fixture
def running(alice: Path) -> Iterator[NodeProcess]:
    node = NodeProcess(alice)
    yield node
    node.stop()


def test_a_huge_auto_away_is_refused_with_the_range(running: NodeProcess) -> None:
    refused = kith(running.data_dir, "settings", "set", "auto_away_minutes", HUGE)
    assert refused.returncode == 1
    assert "from 0 to 10080" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert ok(kith(running.data_dir, "settings", "get", "auto_away_minutes")).strip() == "10"
    assert ok(kith(running.data_dir, "status")).startswith("online")


def test_a_huge_auto_away_is_refused_without_a_node(alice: Path) -> None:
    refused = kith(alice, "settings", "set", "auto_away_minutes", HUGE)
    assert refused.returncode == 1
    assert "from 0 to 10080" in refused.stderr


def test_a_bad_stored_setting_does_not_stop_kith_run(alice: Path) -> None:
    _store_raw_setting(alice, "auto_away_minutes", HUGE)
    node = NodeProcess(alice)
    try:
        assert ok(kith(alice, "settings", "get", "auto_away_minutes")).strip() == "10"
        assert ok(kith(alice, "status")).startswith("online")
        assert any(
            "setting auto_away_minutes is invalid: using its default" in line for line in node.lines
        ), node.lines
    finally:
        assert node.stop() == 0


def test_a_bad_stored_status_text_reads_as_empty(alice: Path) -> None:
    _store_raw_setting(alice, "status_text", '"away\\u0007\\u202e"')
    node = NodeProcess(alice)
    try:
        assert ok(kith(alice, "settings", "get", "status_text")).strip() == ""
    finally:
        assert node.stop() == 0


def _start(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kith.cli.main", "--data-dir", str(path), "run", "--no-browser"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kith_env(),
    )


def test_two_kith_run_at_once_exactly_one_runs(alice: Path) -> None:
    both = [_start(alice), _start(alice)]
    try:
        loser = wait_for(
            lambda: next((p for p in both if p.poll() is not None), None),
            "one of the two nodes to exit",
            timeout=30,
        )
        winner = both[1 - both.index(loser)]
        _, err = loser.communicate(timeout=10)
        assert loser.returncode == 1, err
        assert f"a node is already running for {alice}" in err
        assert f"process {winner.pid} holds" in err
        assert "Traceback" not in err
        info = wait_for(lambda: read_runtime(alice), "the winner's runtime file", timeout=30)
        assert info.pid == winner.pid
        assert winner.poll() is None
    finally:
        for proc in both:
            if proc.poll() is None:
                proc.terminate()
            proc.communicate(timeout=30)


def test_the_lock_goes_with_the_node(alice: Path) -> None:
    first = NodeProcess(alice)
    assert first.stop() == 0
    second = NodeProcess(alice)
    assert second.stop() == 0


def test_the_log_names_a_contact_by_a_short_label(alice: Path) -> None:
    add_contact(alice, UNUSABLE_ID, "broken")
    node = NodeProcess(alice, "--verbose")
    try:
        line = next(line for line in node.lines if "has an unusable key" in line)
        assert f"contact {UNUSABLE_ID[:8]}… has an unusable key" in line
    finally:
        node.stop()
    assert not any(UNUSABLE_ID in line for line in node.lines), node.lines
