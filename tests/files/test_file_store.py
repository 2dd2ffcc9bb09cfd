"""File bytes encrypted at rest (the vault) and the transfers' metadata, on real files."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.files import CHUNK_SIZE, InvalidFile, TransferState
from kith.store import Store
from kith.store.file_vault import FileVault, VaultDamaged
from kith.store.files import FileRecord
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
FILE_ID = "0123456789abcdef" * 2
OTHER_ID = "fedcba9876543210" * 2
CONTACT = "c" * 56


@pytest.fixture
def vault(tmp_path: Path) -> FileVault:
    return FileVault(tmp_path / "files", os.urandom(32))


def _source(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 17])
def test_a_file_imported_reads_back_identical(vault: FileVault, tmp_path: Path, size: int) -> None:
    source, data = _source(tmp_path, size)
    assert vault.import_file(FILE_ID, source) == (size, hashlib.sha256(data).hexdigest())
    assert vault.sha256(FILE_ID, size) == hashlib.sha256(data).hexdigest()
    out = tmp_path / "out.bin"
    vault.export(FILE_ID, size, out)
    assert out.read_bytes() == data


def test_the_bytes_at_rest_are_not_the_plaintext(vault: FileVault, tmp_path: Path) -> None:
    source, data = _source(tmp_path, 2 * CHUNK_SIZE)
    vault.import_file(FILE_ID, source)
    stored = vault.path(FILE_ID).read_bytes()
    assert data[:64] not in stored
    assert data[CHUNK_SIZE : CHUNK_SIZE + 64] not in stored


def test_another_vault_key_cannot_read_the_file(vault: FileVault, tmp_path: Path) -> None:
    source, _ = _source(tmp_path, 100)
    vault.import_file(FILE_ID, source)
    stranger = FileVault(tmp_path / "files", os.urandom(32))
    with pytest.raises(VaultDamaged):
        stranger.sha256(FILE_ID, 100)


def test_a_tampered_record_is_refused(vault: FileVault, tmp_path: Path) -> None:
    source, _ = _source(tmp_path, 2 * CHUNK_SIZE)
    vault.import_file(FILE_ID, source)
    raw = bytearray(vault.path(FILE_ID).read_bytes())
    raw[-5] ^= 1
    vault.path(FILE_ID).write_bytes(bytes(raw))
    with vault.open(FILE_ID, 2 * CHUNK_SIZE) as reader:
        assert len(reader.chunk(0)) == CHUNK_SIZE
        with pytest.raises(VaultDamaged):
            reader.chunk(1)
    out = tmp_path / "out.bin"
    with pytest.raises(VaultDamaged):
        vault.export(FILE_ID, 2 * CHUNK_SIZE, out)
    assert not out.exists()


def test_export_never_replaces_a_file(vault: FileVault, tmp_path: Path) -> None:
    source, _ = _source(tmp_path, 10)
    vault.import_file(FILE_ID, source)
    existing = tmp_path / "mine.txt"
    existing.write_text("keep me")
    with pytest.raises(FileExistsError):
        vault.export(FILE_ID, 10, existing)
    assert existing.read_text() == "keep me"


def test_a_partial_file_resumes_after_its_last_whole_record(
    vault: FileVault, tmp_path: Path
) -> None:
    size = 5 * CHUNK_SIZE + 3
    data = os.urandom(size)
    pieces = [data[i : i + CHUNK_SIZE] for i in range(0, size, CHUNK_SIZE)]
    with vault.create(FILE_ID) as writer:
        for piece in pieces[:3]:
            writer.append(piece)
    path = vault.path(FILE_ID)
    with path.open("ab") as handle:
        handle.write(os.urandom(1000))  # a record cut short by a crash
    with vault.resume(FILE_ID, size) as writer:
        assert writer.have == 3
        for piece in pieces[3:]:
            writer.append(piece)
    assert vault.sha256(FILE_ID, size) == hashlib.sha256(data).hexdigest()
    with vault.resume(FILE_ID, size) as writer:
        assert writer.have == 6


def test_a_garbled_last_record_is_not_counted(vault: FileVault) -> None:
    size = 4 * CHUNK_SIZE
    with vault.create(FILE_ID) as writer:
        for _ in range(3):
            writer.append(os.urandom(CHUNK_SIZE))
    raw = bytearray(vault.path(FILE_ID).read_bytes())
    raw[-1] ^= 0xFF
    vault.path(FILE_ID).write_bytes(bytes(raw))
    with vault.resume(FILE_ID, size) as writer:
        assert writer.have == 2


def test_resuming_a_missing_file_starts_it(vault: FileVault) -> None:
    with vault.resume(FILE_ID, 10) as writer:
        assert writer.have == 0
    assert vault.exists(FILE_ID)


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_a_path_that_is_not_a_readable_file_is_refused(
    vault: FileVault, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "nothing" if kind == "missing" else tmp_path
    with pytest.raises(InvalidFile) as caught:
        vault.import_file(FILE_ID, path)
    assert caught.value.code in ("file_not_found", "is_directory")
    assert not vault.exists(FILE_ID)


def test_an_unreadable_file_is_refused(vault: FileVault, tmp_path: Path) -> None:
    # A Unix socket cannot be opened for reading, also by root (ENXIO), where a
    # chmod 0 file still can.
    source = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(source))
        with pytest.raises(InvalidFile) as caught:
            vault.import_file(FILE_ID, source)
    assert caught.value.code == "file_unreadable"
    assert not vault.exists(FILE_ID)


def test_a_file_over_the_size_limit_is_refused(vault: FileVault, tmp_path: Path) -> None:
    source, _ = _source(tmp_path, 11)
    with pytest.raises(InvalidFile) as caught:
        vault.import_file(FILE_ID, source, max_size=10)
    assert caught.value.code == "file_too_large"
    assert not vault.exists(FILE_ID)
    assert vault.import_file(FILE_ID, source, max_size=11)[0] == 11


def test_a_path_that_is_not_a_transfer_id_is_refused(vault: FileVault) -> None:
    assert vault.path(FILE_ID).name == f"{FILE_ID}.kf"
    with pytest.raises(ValueError, match="transfer ID"):
        vault.path("../../etc/passwd")


def test_delete_removes_the_bytes(vault: FileVault, tmp_path: Path) -> None:
    source, _ = _source(tmp_path, 10)
    vault.import_file(FILE_ID, source)
    vault.delete(FILE_ID)
    assert not vault.exists(FILE_ID)
    vault.delete(FILE_ID)  # twice is fine


# -- metadata -----------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.create(tmp_path / "kith.db", KEY) as created:
        created.identity.create(IdentityKeys(bytes(32)), "alice", 1.0)
        yield created


def _record(file_id: str = FILE_ID, state: TransferState = TransferState.QUEUED) -> FileRecord:
    return FileRecord(
        file_id, CONTACT, "out", "a.txt", 100, "ab" * 32, "hi", state, None, 0, 1_700_000_000
    )


def test_a_transfer_is_stored_and_updated(store: Store) -> None:
    store.files.add(_record())
    assert store.files.get(FILE_ID) == _record()
    store.files.update(FILE_ID, TransferState.FAILED, "hash_mismatch", 1)
    got = store.files.get(FILE_ID)
    assert got is not None
    assert (got.state, got.reason, got.have) == (TransferState.FAILED, "hash_mismatch", 1)
    assert store.files.get(OTHER_ID) is None


def test_unfinished_transfers_are_listed_for_resuming(store: Store) -> None:
    store.files.add(_record(FILE_ID, TransferState.PAUSED))
    store.files.add(_record(OTHER_ID, TransferState.RECEIVED))
    assert [r.id for r in store.files.unfinished()] == [FILE_ID]
    assert [r.id for r in store.files.for_contact(CONTACT)] == [FILE_ID, OTHER_ID]
    store.files.delete(FILE_ID)
    assert [r.id for r in store.files.for_contact(CONTACT)] == [OTHER_ID]


def test_the_vault_key_is_made_once(store: Store) -> None:
    key = store.files.vault_key()
    assert len(key) == 32
    assert store.files.vault_key() == key
