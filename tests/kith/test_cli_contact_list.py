"""``kith contacts import`` and ``export`` on real data directories (no node running)."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kith.cli.main import main
from kith.contact_list import MAX_LIST_BYTES
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys

PASSPHRASE = "contact list passphrase"
BOB = IdentityKeys(bytes(range(32))).kith_id
CAROL = IdentityKeys(bytes(range(1, 33))).kith_id
DAVE = IdentityKeys(bytes(range(3, 35))).kith_id
UNUSABLE = format_id(bytes(32))


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITH_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "alice"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KITH_PASSPHRASE", PASSPHRASE)
        patch.setenv("KITH_ARGON2_PROFILE", "test")
        assert main(["--data-dir", str(path), "init", "--name", "alice"]) == 0
    return path


@pytest.fixture
def home(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of an initialised data directory."""
    return Path(shutil.copytree(template, tmp_path / "alice"))


def kith(home: Path, *args: str) -> int:
    return main(["--data-dir", str(home), *args])


def listed(home: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str | None]]:
    capsys.readouterr()
    assert kith(home, "contacts", "list", "--json") == 0
    return sorted((c["id"], c["name"]) for c in json.loads(capsys.readouterr().out))


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def refused(capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith("kith: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    return err


def own_id(home: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert kith(home, "id", "--json") == 0
    return str(json.loads(capsys.readouterr().out)["id"])


# -- import ----------------------------------------------------------------------------


def test_import_adds_every_contact_with_its_name(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f"# from my old laptop\n{BOB} Bob the Builder\n\n{CAROL.upper()}\n{DAVE}\tdave\n"
    assert kith(home, "contacts", "import", write(tmp_path / "list.txt", text)) == 0
    assert capsys.readouterr().out == "Imported 3 contacts\n"
    assert listed(home, capsys) == sorted([(BOB, "Bob the Builder"), (CAROL, None), (DAVE, "dave")])


def test_a_list_with_bad_lines_adds_nothing_and_names_each_line(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = own_id(home, capsys)
    typo = BOB[:20] + ("a" if BOB[20] != "a" else "b") + BOB[21:]
    text = f"{CAROL} carol\nnot-an-id\n{typo} bob\n# fine\n{own} me\n{UNUSABLE}\n{DAVE}\n"
    assert kith(home, "contacts", "import", write(tmp_path / "list.txt", text)) == 1
    err = refused(capsys, "nothing imported: 4 bad lines")
    lines = err.splitlines()[1:]
    assert [line.split(":")[0] for line in lines] == ["line 2", "line 3", "line 5", "line 6"]
    assert "typo" in lines[1]
    assert "your own ID" in lines[2]
    assert "usable key" in lines[3]
    assert listed(home, capsys) == []


def test_contacts_already_there_and_repeated_lines_are_skipped_and_counted(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kith(home, "contacts", "add", BOB, "--name", "bob") == 0
    text = f"{BOB} robert\n{CAROL} carol\n{CAROL} carol again\n{DAVE}\n"
    assert kith(home, "contacts", "import", write(tmp_path / "list.txt", text)) == 0
    assert capsys.readouterr().out.endswith("Imported 2 contacts (2 already there)\n")
    assert listed(home, capsys) == sorted([(BOB, "bob"), (CAROL, "carol"), (DAVE, None)])


def test_import_reads_stdin_for_a_dash(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(f"{BOB} böb\n".encode()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert kith(home, "contacts", "import", "-") == 0
    assert capsys.readouterr().out == "Imported 1 contact\n"
    assert listed(home, capsys) == [(BOB, "böb")]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (f"{BOB} bob\n".encode() + b"\xff\xfe not text", "not UTF-8"),
        (json.dumps([{"id": BOB}]).encode(), "use --json"),
        (f"{BOB} bob\n".encode() + b"#" * MAX_LIST_BYTES, "larger than 10 MiB"),
    ],
    ids=["not-utf8", "json-without-flag", "too-big"],
)
def test_a_list_that_cannot_be_used_is_refused_whole(
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    fragment: str,
) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(content)
    assert kith(home, "contacts", "import", str(path)) == 1
    refused(capsys, fragment)
    assert listed(home, capsys) == []


def test_a_file_that_cannot_be_read_is_a_clear_error(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kith(home, "contacts", "import", str(tmp_path / "missing.txt")) == 1
    refused(capsys, "cannot read", "missing.txt", "No such file")
    assert kith(home, "contacts", "import", str(tmp_path)) == 1
    refused(capsys, "cannot read")


# -- JSON --------------------------------------------------------------------------------


def test_json_import_prints_counts_and_the_added_contacts(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kith(home, "contacts", "add", CAROL) == 0
    entries = [{"id": BOB, "name": "bob"}, {"id": CAROL}, {"id": DAVE, "name": None}]
    path = write(tmp_path / "list.json", json.dumps(entries))
    capsys.readouterr()
    assert kith(home, "contacts", "import", "--json", path) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert (result["imported"], result["skipped"]) == (2, 1)
    assert [(c["id"], c["name"]) for c in result["contacts"]] == [(BOB, "bob"), (DAVE, None)]


def test_json_import_of_bad_entries_names_them_and_adds_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "list.json", json.dumps([{"id": BOB}, {"id": "nope"}, {"name": "x"}]))
    assert kith(home, "contacts", "import", "--json", path) == 1
    refused(capsys, "entry 3: 'id' must be a string")
    path = write(tmp_path / "list2.json", json.dumps([{"id": BOB}, {"id": "nope"}]))
    assert kith(home, "contacts", "import", "--json", path) == 1
    refused(capsys, "nothing imported: 1 bad entry\nentry 2: invalid Kith ID")
    assert listed(home, capsys) == []


@pytest.mark.parametrize("text", ['[{"id": ', '{"id": "x"}', "", "[] trailing"])
def test_json_that_is_not_a_list_of_contacts_is_refused(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert kith(home, "contacts", "import", "--json", write(tmp_path / "l.json", text)) == 1
    refused(capsys, "cannot import the contact list")


# -- export ------------------------------------------------------------------------------


def test_export_then_import_on_a_new_machine_gives_the_same_contacts(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in ([BOB, "--name", "Bob the Builder"], [CAROL], [DAVE, "--name", "  dave  "]):
        assert kith(home, "contacts", "add", *args) == 0
    for flag in ([], ["--json"]):
        export = tmp_path / f"contacts{len(flag)}"
        assert kith(home, "contacts", "export", *flag, str(export)) == 0
        assert stat.S_IMODE(export.stat().st_mode) == 0o600
        laptop = tmp_path / f"laptop{len(flag)}"
        assert kith(laptop, "init", "--name", "alice on her laptop") == 0
        assert kith(laptop, "contacts", "import", *flag, str(export)) == 0
        assert listed(laptop, capsys) == listed(home, capsys)
    assert listed(home, capsys) == sorted([(BOB, "Bob the Builder"), (CAROL, None), (DAVE, "dave")])


def test_export_writes_stdout_without_a_file_or_with_a_dash(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert kith(home, "contacts", "add", BOB, "--name", "bob") == 0
    capsys.readouterr()
    assert kith(home, "contacts", "export") == 0
    text = capsys.readouterr().out
    assert kith(home, "contacts", "export", "-") == 0
    assert capsys.readouterr().out == text
    assert [line for line in text.splitlines() if not line.startswith("#")] == [f"{BOB} bob"]
    assert kith(home, "contacts", "export", "--json") == 0
    assert json.loads(capsys.readouterr().out) == [{"id": BOB, "name": "bob"}]


def test_export_never_replaces_a_file(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "contacts.txt"
    existing.write_text("keep me")
    assert kith(home, "contacts", "export", str(existing)) == 1
    refused(capsys, "already exists")
    assert existing.read_text() == "keep me"


def test_export_piped_into_import_through_real_processes(home: Path, tmp_path: Path) -> None:
    assert kith(home, "contacts", "add", BOB, "--name", "bob") == 0
    assert kith(home, "contacts", "add", CAROL) == 0
    laptop = tmp_path / "laptop"
    assert kith(laptop, "init") == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(KITH_PASSPHRASE=PASSPHRASE, KITH_ARGON2_PROFILE="test")
    command = [sys.executable, "-m", "kith.cli.main", "--data-dir"]
    exported = subprocess.run(
        [*command, str(home), "contacts", "export"],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    imported = subprocess.run(
        [*command, str(laptop), "contacts", "import", "-"],
        input=exported,
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert imported.stdout.decode() == "Imported 2 contacts\n"
