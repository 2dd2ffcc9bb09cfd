"""``--with-files`` backups on real files: a real data directory, its real
encrypted vault, a real backup file, restored into a new directory."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from kith.account import open_store
from kith.backup import container
from kith.backup.service import Restored, export_backup, import_backup, read_backup
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.errors import BackupError
from kith.files.frames import CHUNK_SIZE
from kith.files.transfer import TransferState
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.store.file_vault import VAULT_DIR, FileVault, VaultDamaged
from kith.store.files import FileRecord
from kith.store.store import Store
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, make_identity

PASSWORD = "backup password"
PEER = IdentityKeys(bytes(range(32))).kith_id
RECEIVED = "a" * 32
SENT = "b" * 32
UNFINISHED = "c" * 32
BIG = 3 * CHUNK_SIZE + 1234
SMALL = 5000


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")


def _add_file(
    store: Store, vault: FileVault, source: Path, file_id: str, direction: str, state: str
) -> None:
    size, sha = vault.import_file(file_id, source)
    store.files.add(
        FileRecord(
            id=file_id,
            contact_id=PEER,
            direction="in" if direction == "in" else "out",
            name=source.name,
            size=size,
            sha256=sha,
            caption="",
            state=TransferState(state),
            reason=None,
            have=0,
            sent_at=int(os.path.getmtime(source)),
        )
    )


@pytest.fixture
def home(tmp_path: Path) -> DataDir:
    """A data directory with a contact, a received and a sent file, and one still queued."""
    path = tmp_path / "alice"
    make_identity(path, "alice")
    (tmp_path / "photo.jpg").write_bytes(os.urandom(BIG))
    (tmp_path / "notes.txt").write_bytes(os.urandom(SMALL))
    (tmp_path / "later.bin").write_bytes(os.urandom(SMALL))
    data_dir = DataDir(path)
    with open_store(data_dir, FixedPassphrase(PASSPHRASE)) as store:
        store.contacts.add(PEER, canonical_id(PEER)[1], "bob", 1.0)
        vault = FileVault(path / VAULT_DIR, store.files.vault_key())
        _add_file(store, vault, tmp_path / "photo.jpg", RECEIVED, "in", "received")
        _add_file(store, vault, tmp_path / "notes.txt", SENT, "out", "received")
        _add_file(store, vault, tmp_path / "later.bin", UNFINISHED, "out", "queued")
    return data_dir


def _export(home: DataDir, target: Path, with_files: bool = True) -> int:
    with open_store(home, FixedPassphrase(PASSPHRASE)) as store:
        return export_backup(
            store, target, PASSWORD, vault_dir=home.path / VAULT_DIR if with_files else None
        )


def _import(source: Path, target: Path) -> Restored:
    return import_backup(
        source,
        PASSWORD,
        DataDir(target),
        protection=Protection.PASSPHRASE,
        passphrases=FixedPassphrase(PASSPHRASE),
    )


def _saved(data_dir: DataDir, file_id: str, dest: Path) -> bytes:
    """The restored file as ``kith files save`` writes it out."""
    with open_store(data_dir, FixedPassphrase(PASSPHRASE)) as store:
        record = store.files.get(file_id)
        assert record is not None
        vault = FileVault(data_dir.path / VAULT_DIR, store.files.vault_key())
    vault.export(file_id, record.size, dest)
    return dest.read_bytes()


def _files_start(backup: bytes) -> int:
    length: int = struct.unpack_from(">I", backup, container.HEADER_SIZE)[0]
    return container.HEADER_SIZE + 4 + length


def test_round_trip_restores_files_byte_identical_under_a_new_vault_key(
    home: DataDir, tmp_path: Path
) -> None:
    backup = tmp_path / "alice.kithbak"
    assert _export(home, backup) == 2

    restored = _import(backup, tmp_path / "restored")

    assert (restored.files, restored.refused) == (2, [])
    new = DataDir(tmp_path / "restored")
    for file_id, name in ((RECEIVED, "photo.jpg"), (SENT, "notes.txt")):
        assert _saved(new, file_id, tmp_path / f"out-{name}") == (tmp_path / name).read_bytes()
    with open_store(new, FixedPassphrase(PASSPHRASE)) as store:
        records = {r.id: r for r in store.files.for_contact(PEER)}
        new_key = store.files.vault_key()
    assert set(records) == {RECEIVED, SENT}  # the queued one is not a finished file
    assert records[RECEIVED].direction == "in"
    assert records[SENT].direction == "out"
    assert all(r.state is TransferState.RECEIVED for r in records.values())
    with open_store(home, FixedPassphrase(PASSPHRASE)) as store:
        assert store.files.vault_key() != new_key
    assert not (new.path / VAULT_DIR / f"{UNFINISHED}.kf").exists()


def test_backup_holds_no_vault_bytes_in_the_clear_or_as_stored(
    home: DataDir, tmp_path: Path
) -> None:
    backup = tmp_path / "alice.kithbak"
    _export(home, backup)
    data = backup.read_bytes()
    plain = (tmp_path / "photo.jpg").read_bytes()
    stored = (home.path / VAULT_DIR / f"{RECEIVED}.kf").read_bytes()
    assert plain[:64] not in data
    assert stored[40:104] not in data  # re-encrypted, not copied


def test_without_the_flag_no_file_is_in_the_backup(home: DataDir, tmp_path: Path) -> None:
    backup = tmp_path / "alice.kithbak"
    assert _export(home, backup, with_files=False) == 0

    assert read_backup(backup, PASSWORD).files == []
    assert backup.stat().st_size < SMALL
    restored = _import(backup, tmp_path / "restored")
    assert (restored.files, restored.refused) == (0, [])
    assert not (tmp_path / "restored" / VAULT_DIR).exists()
    with open_store(DataDir(tmp_path / "restored"), FixedPassphrase(PASSPHRASE)) as store:
        assert store.files.for_contact(PEER) == []
        assert [c.kith_id for c in store.contacts.list()] == [PEER]


def _restored_after(home: DataDir, tmp_path: Path, damage: str) -> Restored:
    backup = tmp_path / "alice.kithbak"
    _export(home, backup)
    data = bytearray(backup.read_bytes())
    start = _files_start(bytes(data))
    if damage == "tampered":  # a byte of the received file's second chunk
        data[start + CHUNK_SIZE + 16 + 7] ^= 0x01
    else:  # cut in the middle of the last file (the sent one, after the received one)
        del data[start + BIG + 4 * 16 + SMALL // 2 :]
    backup.write_bytes(bytes(data))
    return _import(backup, tmp_path / "restored")


def test_a_tampered_file_part_is_refused_and_everything_else_restored(
    home: DataDir, tmp_path: Path
) -> None:
    restored = _restored_after(home, tmp_path, "tampered")

    assert restored.files == 1
    assert [(r.id, r.name) for r in restored.refused] == [(RECEIVED, "photo.jpg")]
    assert "altered or damaged" in restored.refused[0].reason
    new = DataDir(tmp_path / "restored")
    assert _saved(new, SENT, tmp_path / "out") == (tmp_path / "notes.txt").read_bytes()
    assert not (new.path / VAULT_DIR / f"{RECEIVED}.kf").exists()
    with open_store(new, FixedPassphrase(PASSPHRASE)) as store:
        assert store.files.get(RECEIVED) is None
        assert [c.kith_id for c in store.contacts.list()] == [PEER]
        assert store.identity.info().name == "alice"


def test_a_truncated_file_part_is_refused_and_everything_else_restored(
    home: DataDir, tmp_path: Path
) -> None:
    restored = _restored_after(home, tmp_path, "truncated")

    assert restored.files == 1
    assert [r.id for r in restored.refused] == [SENT]
    assert "truncated" in restored.refused[0].reason
    new = DataDir(tmp_path / "restored")
    assert _saved(new, RECEIVED, tmp_path / "out") == (tmp_path / "photo.jpg").read_bytes()
    with open_store(new, FixedPassphrase(PASSPHRASE)) as store:
        assert store.files.get(SENT) is None


def test_a_tampered_payload_length_is_refused_and_nothing_is_written(
    home: DataDir, tmp_path: Path
) -> None:
    backup = tmp_path / "alice.kithbak"
    _export(home, backup)
    data = bytearray(backup.read_bytes())
    (length,) = struct.unpack_from(">I", data, container.HEADER_SIZE)
    struct.pack_into(">I", data, container.HEADER_SIZE, length + 16)
    backup.write_bytes(bytes(data))

    with pytest.raises(BackupError, match="wrong password, or the file was altered"):
        _import(backup, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_a_damaged_vault_file_stops_the_export_and_leaves_no_backup(
    home: DataDir, tmp_path: Path
) -> None:
    stored = home.path / VAULT_DIR / f"{SENT}.kf"
    damaged = bytearray(stored.read_bytes())
    damaged[-1] ^= 0x01
    stored.write_bytes(bytes(damaged))
    backup = tmp_path / "alice.kithbak"

    with pytest.raises(VaultDamaged, match="damaged"):
        _export(home, backup)
    assert list(tmp_path.glob("*alice.kithbak*")) == []
