"""Creating, unlocking and rewrapping a data directory (library level)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kith.account import change_passphrase, create_account, open_store, protection_of, unlock
from kith.datadir import DataDir
from kith.errors import (
    AlreadyInitialisedError,
    KeyStoreError,
    NotInitialisedError,
    WrongPassphraseError,
)
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.store import Store

OLD = FixedPassphrase("old passphrase")
NEW = FixedPassphrase("new passphrase")


def _create(data_dir: DataDir) -> None:
    create_account(data_dir, name="alice", protection=Protection.PASSPHRASE, passphrases=OLD)


def test_create_makes_exactly_a_database_and_a_key_file(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "home")
    _create(data_dir)
    assert sorted(p.name for p in data_dir.path.iterdir()) == ["key.json", "kith.db"]
    assert protection_of(data_dir) is Protection.PASSPHRASE


def test_create_refuses_an_existing_identity_and_changes_nothing(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "home")
    _create(data_dir)
    before = {p.name: p.read_bytes() for p in data_dir.path.iterdir()}
    with pytest.raises(AlreadyInitialisedError):
        _create(data_dir)
    assert {p.name: p.read_bytes() for p in data_dir.path.iterdir()} == before


def test_a_failed_create_leaves_nothing_behind(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "home")

    def explode(store: Store) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        create_account(
            data_dir,
            name="x",
            protection=Protection.PASSPHRASE,
            passphrases=OLD,
            populate=explode,
        )
    assert not data_dir.path.exists()


def test_a_failed_create_in_an_existing_dir_leaves_it_empty(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)

    def explode(store: Store) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        create_account(
            data_dir, name="x", protection=Protection.PASSPHRASE, passphrases=OLD, populate=explode
        )
    assert list(tmp_path.iterdir()) == []


def test_unlock_an_uninitialised_dir(tmp_path: Path) -> None:
    with pytest.raises(NotInitialisedError, match="kith init"):
        unlock(DataDir(tmp_path), OLD)


def test_database_without_key_file(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    _create(data_dir)
    data_dir.key_path.unlink()
    with pytest.raises(KeyStoreError, match="no key file"):
        unlock(data_dir, OLD)


def test_change_passphrase_rewraps_without_touching_the_database(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    _create(data_dir)
    db_before = data_dir.db_path.read_bytes()
    key = unlock(data_dir, OLD)
    change_passphrase(data_dir, OLD, NEW)
    assert unlock(data_dir, NEW) == key
    assert data_dir.db_path.read_bytes() == db_before
    with pytest.raises(WrongPassphraseError):
        unlock(data_dir, OLD)


def test_change_passphrase_with_the_wrong_old_one_changes_nothing(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    _create(data_dir)
    key_file = data_dir.key_path.read_bytes()
    with pytest.raises(WrongPassphraseError):
        change_passphrase(data_dir, NEW, NEW)
    assert data_dir.key_path.read_bytes() == key_file


def test_open_store_reads_the_identity(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path)
    _create(data_dir)
    with open_store(data_dir, OLD) as store:
        assert store.identity.info().name == "alice"


def test_data_dir_resolution_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KITH_HOME", str(tmp_path / "env"))
    assert DataDir.resolve(str(tmp_path / "flag")).path == tmp_path / "flag"
    assert DataDir.resolve(None).path == tmp_path / "env"
    monkeypatch.delenv("KITH_HOME")
    assert DataDir.resolve(None).path.name.lower() == "kith"
