"""The runtime file (``node.json``): round trip, garbage, ownership on removal."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kith.runtime.runtime_file import (
    RUNTIME_FILE,
    RuntimeInfo,
    read_runtime,
    remove_runtime,
    write_runtime,
)

INFO = RuntimeInfo(1234, "127.0.0.1", 40000, "secret-token", 1.5)


def test_written_info_reads_back_and_is_owner_only(tmp_path: Path) -> None:
    path = write_runtime(tmp_path, INFO)
    assert read_runtime(tmp_path) == INFO
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_token_never_appears_in_the_repr() -> None:
    assert "secret-token" not in repr(INFO)


@pytest.mark.parametrize(
    "content",
    ["", "not json", "[]", '{"format": 2}', '{"format": 1, "pid": "x", "port": 1}'],
)
def test_an_unreadable_file_reads_as_no_node(tmp_path: Path, content: str) -> None:
    (tmp_path / RUNTIME_FILE).write_text(content)
    assert read_runtime(tmp_path) is None


def test_a_missing_file_reads_as_no_node(tmp_path: Path) -> None:
    assert read_runtime(tmp_path) is None


def test_removal_leaves_another_nodes_file_alone(tmp_path: Path) -> None:
    write_runtime(tmp_path, RuntimeInfo(99, "127.0.0.1", 40001, "other", 2.0))
    remove_runtime(tmp_path, INFO)
    assert (tmp_path / RUNTIME_FILE).exists()
    write_runtime(tmp_path, INFO)
    remove_runtime(tmp_path, INFO)
    assert not (tmp_path / RUNTIME_FILE).exists()
