"""The real ``kith`` command, run as a subprocess on temporary data directories."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kith.store.connection import PLAINTEXT_HEADER
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys

PASSPHRASE = "cli test passphrase"
PEER = IdentityKeys(bytes(range(32))).kith_id
OTHER = IdentityKeys(bytes(range(1, 33))).kith_id


def _command() -> list[str]:
    script = Path(sys.executable).parent / "kith"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kith.cli.main"]


def run(
    home: Path, *args: str, passphrase: str | None = PASSPHRASE, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    clean.update(HOME=str(home.parent), KITH_ARGON2_PROFILE="test", **env)
    if passphrase is not None:
        clean["KITH_PASSPHRASE"] = passphrase
    return subprocess.run(
        [*_command(), "--data-dir", str(home), *args],
        capture_output=True,
        text=True,
        env=clean,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def fails(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("kith: ")
    for fragment in fragments:
        assert fragment in result.stderr
    return result.stderr


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "alice"
    ok(run(path, "init", "--name", "alice"))
    return path


@pytest.fixture
def home(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of an initialised data directory (faster than ``init`` each time)."""
    return Path(shutil.copytree(template, tmp_path / "alice"))


def _snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


# --- init and identity ----------------------------------------------------------


def test_init_prints_the_id_and_creates_the_files(tmp_path: Path) -> None:
    out = ok(run(tmp_path / "a", "init", "--name", "alice"))
    identity = as_json(run(tmp_path / "a", "id", "--json"))
    assert identity["id"] in out
    assert sorted(os.listdir(tmp_path / "a")) == ["key.json", "kith.db"]


def test_init_twice_refuses_and_changes_nothing(home: Path) -> None:
    before = _snapshot(home)
    fails(run(home, "init", "--name", "mallory"), "already holds a Kith identity")
    assert _snapshot(home) == before


def test_kith_home_sets_the_data_directory(tmp_path: Path) -> None:
    env_home = tmp_path / "from-env"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    clean.update(KITH_HOME=str(env_home), KITH_PASSPHRASE=PASSPHRASE, KITH_ARGON2_PROFILE="test")
    subprocess.run([*_command(), "init"], env=clean, check=True, capture_output=True)
    assert (env_home / "kith.db").exists()


def test_id_json_has_id_name_and_fingerprint(home: Path) -> None:
    identity = as_json(run(home, "id", "--json"))
    assert identity["name"] == "alice"
    assert len(identity["id"]) == 56
    assert len(identity["fingerprint"]) == 30


def test_name_set_changes_the_display_name(home: Path) -> None:
    ok(run(home, "name", "set", "Alice Liddell"))
    assert as_json(run(home, "id", "--json"))["name"] == "Alice Liddell"


def test_empty_name_is_refused(home: Path) -> None:
    fails(run(home, "name", "set", "  "), "must not be empty")


def test_commands_before_init_say_to_run_init(tmp_path: Path) -> None:
    fails(run(tmp_path / "none", "id"), "kith init")


# --- key protection -----------------------------------------------------------------


def test_wrong_passphrase_is_a_clear_error(home: Path) -> None:
    fails(run(home, "id", passphrase="not it"), "wrong passphrase")


def test_no_passphrase_and_no_terminal_is_a_clear_error(home: Path) -> None:
    fails(run(home, "id", passphrase=None), "KITH_PASSPHRASE")


def test_init_without_any_passphrase_source_creates_nothing(tmp_path: Path) -> None:
    fails(run(tmp_path / "x", "init", "--passphrase", passphrase=None), "KITH_PASSPHRASE")
    assert not (tmp_path / "x").exists()


def test_init_with_an_empty_passphrase_is_refused(tmp_path: Path) -> None:
    fails(run(tmp_path / "x", "init", passphrase=""), "must not be empty")
    assert not (tmp_path / "x").exists()


def test_passphrase_change_takes_the_new_one(home: Path) -> None:
    ok(run(home, "passphrase", "change", KITH_NEW_PASSPHRASE="brand new harbour lantern"))
    fails(run(home, "id"), "wrong passphrase")
    renamed = run(home, "id", "--json", passphrase="brand new harbour lantern")
    assert as_json(renamed)["name"] == "alice"


def test_passphrase_change_with_wrong_old_passphrase(home: Path) -> None:
    before = _snapshot(home)
    fails(run(home, "passphrase", "change", passphrase="bad", KITH_NEW_PASSPHRASE="x"))
    assert _snapshot(home) == before


def test_no_file_in_the_data_dir_is_plaintext_sqlite(home: Path) -> None:
    ok(run(home, "contacts", "add", PEER, "--name", "bob"))
    for path in home.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(PLAINTEXT_HEADER), path.name


def test_no_secret_appears_in_the_data_dir(home: Path, tmp_path: Path) -> None:
    backup = tmp_path / "export.kbk"
    (tmp_path / "pw").write_text("backup-password-xyz\n")
    ok(run(home, "backup", "export", str(backup), "--password-file", str(tmp_path / "pw")))
    seed = _seed_of(backup, "backup-password-xyz")
    for path in home.rglob("*"):
        data = path.read_bytes()
        for secret in (seed, seed.hex().encode(), PASSPHRASE.encode()):
            assert secret not in data, path.name


def _seed_of(backup: Path, password: str) -> bytes:
    from kith.backup import read_backup

    return read_backup(backup, password).seed


# --- damaged databases ------------------------------------------------------------------


def test_missing_database(home: Path) -> None:
    (home / "kith.db").unlink()
    fails(run(home, "id"), "missing")


def test_truncated_database(home: Path) -> None:
    data = (home / "kith.db").read_bytes()
    (home / "kith.db").write_bytes(data[:1000])
    fails(run(home, "contacts", "list"), "damaged")


def test_empty_database(home: Path) -> None:
    (home / "kith.db").write_bytes(b"")
    fails(run(home, "id"), "empty")


def test_corrupted_database(home: Path) -> None:
    (home / "kith.db").write_bytes(os.urandom((home / "kith.db").stat().st_size))
    fails(run(home, "id"), "damaged")


def test_corrupted_key_file(home: Path) -> None:
    (home / "key.json").write_text("{ not json")
    fails(run(home, "id"), "key file is damaged")


def test_database_from_a_newer_schema_is_refused(home: Path) -> None:
    from kith.account import unlock
    from kith.datadir import DataDir
    from kith.passphrases import FixedPassphrase
    from kith.store.connection import connect

    conn = connect(home / "kith.db", unlock(DataDir(home), FixedPassphrase(PASSPHRASE)))
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    fails(run(home, "id"), "newer Kith")


# --- contacts ---------------------------------------------------------------------------


def test_contacts_add_list_show(home: Path) -> None:
    ok(run(home, "contacts", "add", PEER.upper(), "--name", "bob"))
    listed = as_json(run(home, "contacts", "list", "--json"))
    assert listed == [
        {
            "id": PEER,
            "name": "bob",
            "verified": False,
            "added_at": listed[0]["added_at"],
            "status": "offline",
            "status_text": "",
            "last_seen": None,
            "own_name": "",
            "display_name": "bob",
        }
    ]
    shown = as_json(run(home, "contacts", "show", PEER, "--json"))
    assert len(shown["safety_number"]) == 60


def test_safety_numbers_match_on_both_sides(home: Path, tmp_path: Path) -> None:
    bob = tmp_path / "bob"
    ok(run(bob, "init", "--name", "bob"))
    alice_id = as_json(run(home, "id", "--json"))["id"]
    bob_id = as_json(run(bob, "id", "--json"))["id"]
    ok(run(home, "contacts", "add", bob_id))
    ok(run(bob, "contacts", "add", alice_id))
    seen_by_alice = as_json(run(home, "contacts", "show", bob_id, "--json"))["safety_number"]
    seen_by_bob = as_json(run(bob, "contacts", "show", alice_id, "--json"))["safety_number"]
    assert seen_by_alice == seen_by_bob


def test_contacts_rename_verify_remove(home: Path) -> None:
    ok(run(home, "contacts", "add", PEER))
    ok(run(home, "contacts", "rename", PEER, "robert"))
    ok(run(home, "contacts", "verify", PEER))
    (contact,) = as_json(run(home, "contacts", "list", "--json"))
    assert (contact["name"], contact["verified"]) == ("robert", True)
    ok(run(home, "contacts", "remove", PEER))
    assert as_json(run(home, "contacts", "list", "--json")) == []


def test_malformed_id_is_refused(home: Path) -> None:
    fails(run(home, "contacts", "add", "not-an-id"), "56 characters")


def test_one_character_typo_is_refused(home: Path) -> None:
    typo = PEER[:20] + ("a" if PEER[20] != "a" else "b") + PEER[21:]
    fails(run(home, "contacts", "add", typo), "typo")


def test_own_id_is_refused(home: Path) -> None:
    own = as_json(run(home, "id", "--json"))["id"]
    fails(run(home, "contacts", "add", own), "your own ID")


def test_an_id_of_an_unusable_key_is_refused_and_not_stored(home: Path) -> None:
    fails(run(home, "contacts", "add", format_id(bytes(32))), "does not name a usable key")
    assert as_json(run(home, "contacts", "list", "--json")) == []


def test_duplicate_contact_is_refused(home: Path) -> None:
    ok(run(home, "contacts", "add", PEER))
    fails(run(home, "contacts", "add", PEER, "--name", "again"), "already one of your contacts")


def test_unknown_contact_is_refused(home: Path) -> None:
    fails(run(home, "contacts", "remove", OTHER), "not one of your contacts")


# --- settings ---------------------------------------------------------------------------


def test_settings_list_json_has_every_setting(home: Path) -> None:
    keys = [s["key"] for s in as_json(run(home, "settings", "list", "--json"))]
    assert {"user_status", "status_text", "signaling_url", "auto_away_minutes"} <= set(keys)


def test_settings_set_persists_and_reset_restores(home: Path) -> None:
    ok(run(home, "settings", "set", "user_status", "busy"))
    assert ok(run(home, "settings", "get", "user_status")).strip() == "busy"
    assert as_json(run(home, "settings", "get", "user_status", "--json"))["is_default"] is False
    ok(run(home, "settings", "reset", "user_status"))
    assert ok(run(home, "settings", "get", "user_status")).strip() == "online"


def test_unknown_setting_names_known_ones(home: Path) -> None:
    fails(run(home, "settings", "set", "colour", "red"), "unknown setting", "user_status")


def test_invalid_setting_value_names_allowed_values(home: Path) -> None:
    fails(run(home, "settings", "set", "user_status", "sleepy"), "online, away, busy, invisible")


def test_status_set_is_a_setting(home: Path) -> None:
    ok(run(home, "status", "set", "away", "--text", "lunch"))
    assert as_json(run(home, "status", "--json")) == {
        "status": "away",
        "text": "lunch",
        "effective": "away",
        "connection": "not running",
    }


# --- the command line itself ----------------------------------------------------------------


def test_version(tmp_path: Path) -> None:
    assert ok(run(tmp_path, "--version")).startswith("kith ")


def test_help(tmp_path: Path) -> None:
    assert "contacts" in ok(run(tmp_path, "--help"))


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["contacts"], ["contacts", "add"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_demo_prints_matching_safety_numbers() -> None:
    # `kith demo` runs until Ctrl-C since issue 6; tests/ui/test_demo.py covers the rest.
    found = shutil.which("kith") or _command()[0]
    demo = subprocess.Popen(
        [*_command(), "demo", "--no-browser"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    seen = []
    for line in demo.stdout:  # up to the point where both nodes run
        seen.append(line)
        if line.startswith("Both nodes are running"):
            break
    demo.send_signal(signal.SIGINT)
    _, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, (found, err)
    assert "They match." in "".join(seen)
