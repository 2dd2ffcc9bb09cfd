"""Argon2id parameters from a tampered file are refused before any key is derived.

Real files: a data directory made by ``kith init``'s code and a backup made by
``backup export``'s; only their stored parameters are edited. Deriving is
replaced by a tripwire, so a test fails if Argon2id would run at all.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

from kith.account import open_store
from kith.backup.service import export_backup, import_backup
from kith.datadir import DataDir
from kith.errors import BackupError, KeyStoreError
from kith.keyprotect import Protection
from kith.keyprotect import passphrase as passphrase_kdf
from kith.keyprotect.wrapfile import MAX_MEMORY_KIB, MAX_PARALLELISM, MAX_TIME_COST
from kith.passphrases import FixedPassphrase
from kith_testkit.nodes import PASSPHRASE, make_identity

FOUR_GIB_KIB = 4 * 1024 * 1024
FAST = 1.0  # seconds: refusing is a parse, never a derivation
BACKUP_PASSWORD = "backup password"

TAMPERED = [
    pytest.param({"memory_kib": FOUR_GIB_KIB}, id="memory-4GiB"),
    pytest.param({"memory_kib": MAX_MEMORY_KIB + 1}, id="memory-just-over-1GiB"),
    pytest.param({"time_cost": MAX_TIME_COST + 1}, id="time-cost-11"),
    pytest.param({"time_cost": 64}, id="time-cost-64"),
    pytest.param({"parallelism": MAX_PARALLELISM + 1, "memory_kib": 65536}, id="lanes-9"),
]


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def refuse(*args: object, **kwargs: object) -> bytes:
        calls.append(1)
        raise AssertionError("Argon2id ran with parameters from a tampered file")

    monkeypatch.setattr(passphrase_kdf, "hash_secret_raw", refuse)
    return calls


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kdf") / "alice"
    make_identity(path, "alice")
    return path


@pytest.fixture(scope="module")
def backup(made: Path) -> bytes:
    target = made.parent / "alice.kithbak"
    with open_store(DataDir(made), FixedPassphrase(PASSPHRASE)) as store:
        export_backup(store, target, BACKUP_PASSWORD)
    return target.read_bytes()


def _tampered_key_dir(made: Path, tmp_path: Path, changes: dict[str, int]) -> DataDir:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("kith.db", "key.json"):
        (copy / name).write_bytes((made / name).read_bytes())
    document = json.loads((copy / "key.json").read_text())
    document["kdf"].update(changes)
    (copy / "key.json").write_text(json.dumps(document))
    return DataDir(copy)


@pytest.mark.parametrize("changes", TAMPERED)
def test_a_tampered_key_file_is_refused_before_deriving(
    made: Path, tmp_path: Path, tripwire: list[int], changes: dict[str, int]
) -> None:
    data_dir = _tampered_key_dir(made, tmp_path, changes)
    started = time.monotonic()
    with pytest.raises(KeyStoreError, match="key file is damaged") as info:
        open_store(data_dir, FixedPassphrase(PASSPHRASE))
    assert time.monotonic() - started < FAST
    assert info.value.code == "key_file_damaged"
    assert tripwire == []


def test_an_untampered_key_file_still_opens(made: Path) -> None:
    with open_store(DataDir(made), FixedPassphrase(PASSPHRASE)) as store:
        assert store.identity.info().name == "alice"


def _tampered_backup(backup: bytes, changes: dict[str, int]) -> bytes:
    data = bytearray(backup)
    offsets = {"memory_kib": 12, "time_cost": 16, "parallelism": 20}
    for field, value in changes.items():
        data[offsets[field] : offsets[field] + 4] = struct.pack(">I", value)
    return bytes(data)


@pytest.mark.parametrize("changes", TAMPERED)
def test_a_tampered_backup_header_is_refused_before_deriving(
    backup: bytes, tmp_path: Path, tripwire: list[int], changes: dict[str, int]
) -> None:
    source = tmp_path / "tampered.kithbak"
    source.write_bytes(_tampered_backup(backup, changes))
    started = time.monotonic()
    with pytest.raises(BackupError, match="damaged or was altered") as info:
        import_backup(
            source,
            BACKUP_PASSWORD,
            DataDir(tmp_path / "restored"),
            protection=Protection.PASSPHRASE,
            passphrases=FixedPassphrase(PASSPHRASE),
        )
    assert time.monotonic() - started < FAST
    assert info.value.code == "backup_damaged"
    assert tripwire == []
    assert not (tmp_path / "restored").exists()
