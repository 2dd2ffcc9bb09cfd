"""``kith backup export|import`` through the real command, on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kith_proto.keys import IdentityKeys

PASSPHRASE = "backup test passphrase"
PEER = IdentityKeys(bytes(range(32))).kith_id


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "kith"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kith.cli.main"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    clean.update(HOME=str(home.parent), KITH_PASSPHRASE=PASSPHRASE, KITH_ARGON2_PROFILE="test")
    clean.update(env)
    return subprocess.run(
        [*command, "--data-dir", str(home), *args],
        capture_output=True,
        text=True,
        env=clean,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.startswith(("{", "[")) else result.stdout


def fails(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An identity with a contact and settings, and its backup: (home, backup, password file)."""
    root = tmp_path_factory.mktemp("backup")
    home, backup, password = root / "alice", root / "alice.kbk", root / "pw"
    password.write_text("correct horse battery staple\n")
    ok(run(home, "init", "--name", "alice"))
    ok(run(home, "contacts", "add", PEER, "--name", "bob"))
    ok(run(home, "contacts", "verify", PEER))
    ok(run(home, "settings", "set", "user_status", "busy"))
    ok(run(home, "settings", "set", "stun_servers", "stun:stun.example:3478"))
    ok(run(home, "backup", "export", str(backup), "--password-file", str(password)))
    return home, backup, password


def _state(home: Path, **env: str) -> tuple[Any, Any, Any]:
    identity = ok(run(home, "id", "--json", **env))
    contacts = ok(run(home, "contacts", "list", "--json", **env))
    settings = ok(run(home, "settings", "list", "--json", **env))
    return identity, contacts, settings


def test_import_restores_id_name_contacts_and_settings(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, backup, password = exported
    restored = tmp_path / "restored"
    ok(run(restored, "backup", "import", str(backup), "--password-file", str(password)))
    assert _state(restored) == _state(home)


def test_restored_database_uses_its_own_new_passphrase(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, backup, password = exported
    restored = tmp_path / "restored"
    args = ("backup", "import", str(backup), "--password-file", str(password))
    ok(run(restored, *args, KITH_PASSPHRASE="another one"))
    fails(run(restored, "id"), "wrong passphrase")
    assert ok(run(restored, "id", "--json", KITH_PASSPHRASE="another one"))["name"] == "alice"


def test_import_into_an_existing_empty_directory(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, backup, password = exported
    (tmp_path / "empty").mkdir()
    ok(run(tmp_path / "empty", "backup", "import", str(backup), "--password-file", str(password)))


def test_wrong_password_writes_nothing(exported: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, backup, _ = exported
    (tmp_path / "bad").write_text("wrong\n")
    target = tmp_path / "restored"
    fails(
        run(target, "backup", "import", str(backup), "--password-file", str(tmp_path / "bad")),
        "wrong password",
    )
    assert not target.exists()


@pytest.mark.parametrize("where", [0, 9, 30, 60, -5])
def test_tampered_backup_writes_nothing(
    exported: tuple[Path, Path, Path], tmp_path: Path, where: int
) -> None:
    _, backup, password = exported
    data = bytearray(backup.read_bytes())
    data[where] ^= 0x40
    tampered = tmp_path / "tampered.kbk"
    tampered.write_bytes(bytes(data))
    target = tmp_path / "restored"
    result = run(target, "backup", "import", str(tampered), "--password-file", str(password))
    fails(result, "backup")
    assert not target.exists()


def test_truncated_backup_writes_nothing(exported: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, backup, password = exported
    truncated = tmp_path / "truncated.kbk"
    truncated.write_bytes(backup.read_bytes()[:40])
    target = tmp_path / "restored"
    fails(
        run(target, "backup", "import", str(truncated), "--password-file", str(password)),
        "too short",
    )
    assert not target.exists()


def test_import_into_a_non_empty_directory_is_refused(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, backup, password = exported
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    fails(
        run(target, "backup", "import", str(backup), "--password-file", str(password)),
        "not empty",
    )
    assert sorted(os.listdir(target)) == ["notes.txt"]


def test_missing_backup_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("x\n")
    args = ("backup", "import", str(tmp_path / "nope.kbk"), "--password-file", str(tmp_path / "pw"))
    fails(run(tmp_path / "r", *args), "no backup file")
    assert not (tmp_path / "r").exists()


def test_export_refuses_to_overwrite(exported: tuple[Path, Path, Path]) -> None:
    home, backup, password = exported
    before = backup.read_bytes()
    fails(
        run(home, "backup", "export", str(backup), "--password-file", str(password)),
        "already exists",
    )
    assert backup.read_bytes() == before


def test_backup_password_from_the_environment(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, _, _ = exported
    backup = tmp_path / "env.kbk"
    ok(run(home, "backup", "export", str(backup), KITH_BACKUP_PASSWORD="from env"))
    restored = tmp_path / "restored"
    ok(run(restored, "backup", "import", str(backup), KITH_BACKUP_PASSWORD="from env"))


def test_backup_file_has_no_plaintext_secrets(exported: tuple[Path, Path, Path]) -> None:
    _, backup, _ = exported
    data = backup.read_bytes()
    assert data.startswith(b"KITHBAK\x00")
    assert b"alice" not in data
    assert PEER.encode() not in data


@pytest.fixture(scope="module")
def with_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """An identity holding one received file: (home, password file, the file's bytes)."""
    from kith.account import open_store
    from kith.contacts import canonical_id
    from kith.datadir import DataDir
    from kith.files.transfer import TransferState
    from kith.passphrases import FixedPassphrase
    from kith.store.file_vault import VAULT_DIR, FileVault
    from kith.store.files import FileRecord

    root = tmp_path_factory.mktemp("files")
    home, password, source = root / "alice", root / "pw", root / "scan.png"
    password.write_text("correct horse battery staple\n")
    ok(run(home, "init", "--name", "alice"))
    ok(run(home, "contacts", "add", PEER, "--name", "bob"))
    source.write_bytes(os.urandom(200_000))
    with open_store(DataDir(home), FixedPassphrase(PASSPHRASE)) as store:
        vault = FileVault(home / VAULT_DIR, store.files.vault_key())
        size, sha = vault.import_file("f" * 32, source)
        store.files.add(
            FileRecord(
                id="f" * 32, contact_id=canonical_id(PEER)[0], direction="in", name="scan.png",
                size=size, sha256=sha, caption="", state=TransferState.RECEIVED, reason=None,
                have=4, sent_at=1,
            )
        )  # fmt: skip
    return home, password, source.read_bytes()


def _restored_file(home: Path) -> bytes:
    from kith.account import open_store
    from kith.datadir import DataDir
    from kith.passphrases import FixedPassphrase
    from kith.store.file_vault import VAULT_DIR, FileVault

    with open_store(DataDir(home), FixedPassphrase(PASSPHRASE)) as store:
        vault = FileVault(home / VAULT_DIR, store.files.vault_key())
        record = store.files.get("f" * 32)
    assert record is not None
    out = home.parent / "saved.png"
    vault.export(record.id, record.size, out)
    return out.read_bytes()


def test_with_files_the_file_is_restored_byte_identical(
    with_file: tuple[Path, Path, bytes], tmp_path: Path
) -> None:
    home, password, content = with_file
    backup = tmp_path / "alice.kbk"
    args = ("--password-file", str(password))
    assert "(1 file)" in ok(run(home, "backup", "export", str(backup), "--with-files", *args))
    restored = tmp_path / "restored"
    assert "1 file into" in ok(run(restored, "backup", "import", str(backup), *args))
    assert _restored_file(restored) == content


def test_without_the_flag_the_backup_holds_no_file(
    with_file: tuple[Path, Path, bytes], tmp_path: Path
) -> None:
    home, password, content = with_file
    backup = tmp_path / "alice.kbk"
    args = ("--password-file", str(password))
    assert "file" not in ok(run(home, "backup", "export", str(backup), *args)).split(" to ")[0]
    assert backup.stat().st_size < len(content)
    restored = tmp_path / "restored"
    assert "file" not in ok(run(restored, "backup", "import", str(backup), *args)).split(")")[1]
    assert not (restored / "files").exists()


def test_a_damaged_file_part_is_an_error_and_the_rest_is_restored(
    with_file: tuple[Path, Path, bytes], tmp_path: Path
) -> None:
    home, password, _ = with_file
    backup = tmp_path / "alice.kbk"
    args = ("--password-file", str(password))
    ok(run(home, "backup", "export", str(backup), "--with-files", *args))
    data = bytearray(backup.read_bytes())
    data[-100] ^= 0x01  # in the file's last chunk
    backup.write_bytes(bytes(data))
    restored = tmp_path / "restored"
    result = run(restored, "backup", "import", str(backup), *args)
    fails(result, f"file scan.png ({'f' * 32}) not restored: its part of the backup was altered")
    assert "Restored alice" in result.stdout
    assert ok(run(restored, "contacts", "list", "--json"))[0]["id"] == PEER
    assert not (restored / "files" / f"{'f' * 32}.kf").exists()
