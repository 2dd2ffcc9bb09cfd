"""A ``--with-files`` backup of a node that sent a group file (real store, vault, backup):
the sender's members' transfers share one vault copy, so the backup leaves them out
rather than failing on a vault file that is not there, and keeps everything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kith.account import open_store
from kith.backup.service import export_backup, read_backup
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.files.transfer import TransferState
from kith.groups.files import transfer_id
from kith.passphrases import FixedPassphrase
from kith.store.file_vault import VAULT_DIR, FileVault
from kith.store.files import FileRecord
from kith_proto.keys import IdentityKeys
from kith_testkit.nodes import PASSPHRASE, make_identity

PASSWORD = "backup password"
PEER = IdentityKeys(bytes(range(32))).kith_id
MESSAGE = "d" * 32
ONE_TO_ONE = "e" * 32


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")


def _record(file_id: str, size: int, sha: str, source: str | None) -> FileRecord:
    return FileRecord(
        file_id, PEER, "out", "x.bin", size, sha, "", TransferState.RECEIVED, None, 0, 1,
        source=source,
    )  # fmt: skip


def test_a_sent_group_file_is_left_out_of_a_backup_that_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "alice"
    me = make_identity(path, "alice")
    (tmp_path / "x.bin").write_bytes(os.urandom(5000))
    data_dir = DataDir(path)
    with open_store(data_dir, FixedPassphrase(PASSPHRASE)) as store:
        store.contacts.add(PEER, canonical_id(PEER)[1], "bob", 1.0)
        vault = FileVault(path / VAULT_DIR, store.files.vault_key())
        size, sha = vault.import_file(MESSAGE, tmp_path / "x.bin")  # the group message's copy
        vault.import_file(ONE_TO_ONE, tmp_path / "x.bin")
        store.files.add(_record(transfer_id(MESSAGE, me, PEER), size, sha, MESSAGE))
        store.files.add(_record(ONE_TO_ONE, size, sha, None))
        assert [r.vault_id for r in store.files.from_source(MESSAGE)] == [MESSAGE]
        target = tmp_path / "backup.kith"
        assert export_backup(store, target, PASSWORD, vault_dir=path / VAULT_DIR) == 1
    assert [f.id for f in read_backup(target, PASSWORD).files] == [ONE_TO_ONE]
