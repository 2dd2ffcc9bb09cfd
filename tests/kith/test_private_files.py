"""Owner-only files: the runtime token and the wrapped key are never readable by others."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from kith.account import create_account
from kith.datadir import DataDir
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.private_files import write_private

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_file_is_owner_only_and_replaces_the_old(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_private(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600


def test_a_stale_loose_temp_file_does_not_lend_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "node.json"
    stale = tmp_path / f".node.json.{os.getpid()}.tmp"
    stale.write_bytes(b"planted")
    stale.chmod(0o666)
    write_private(target, b"token")
    assert mode(target) == 0o600
    assert not stale.exists()


def test_init_tightens_an_existing_empty_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    create_account(
        DataDir(home),
        name="alice",
        protection=Protection.PASSPHRASE,
        passphrases=FixedPassphrase("private files test"),
    )
    assert mode(home) == 0o700
    assert all(mode(p) & 0o077 == 0 for p in home.iterdir() if p.is_file())
