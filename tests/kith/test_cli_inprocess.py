"""The CLI's parser and error handling, called in-process (fast, no subprocess)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from kith.cli.main import main


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITH_PASSPHRASE", "in-process passphrase")
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["contacts", "frobnicate"])
    assert info.value.code == 2


def test_kith_error_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(tmp_path), "id"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kith: no Kith identity")
    assert err.count("\n") == 1


def test_init_then_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "init", "--name", "alice", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert main(["--data-dir", str(tmp_path), "contacts", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--data-dir", str(tmp_path), "contacts", "list"]) == 0
    assert "No contacts yet" in capsys.readouterr().out
    assert created["name"] == "alice"


def test_settings_list_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--data-dir", str(tmp_path), "init"])
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path), "settings", "list"]) == 0
    assert "signaling_url" in capsys.readouterr().out


def test_os_errors_are_reported_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["--data-dir", str(blocker / "sub"), "init"]) == 1
    assert capsys.readouterr().err.startswith("kith: ")


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--inbound-rate", "0", "must be > 0"),
        ("--inbound-rate", "fast", "not a number"),
        ("--inbound-burst", "0", "must be from 1"),
        ("--inbound-burst", "1.5", "not a whole number"),
    ],
)
def test_run_refuses_an_unusable_inbound_limit(
    flag: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", flag, value])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err


def test_run_takes_a_usable_inbound_limit_and_leaves_the_rest_to_the_node() -> None:
    from kith.cli import run

    args = argparse.Namespace(inbound_rate=run._positive("50"), inbound_burst=None)
    assert run._inbound(args) == {"inbound_rate": 50.0}


@pytest.mark.parametrize("value", ["0", "-1", "301", "soon"])
def test_run_refuses_an_unusable_reconnect_wait(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--reconnect-max", value])
    assert exited.value.code == 2
    assert "--reconnect-max" in capsys.readouterr().err


def test_run_takes_a_reconnect_wait_and_the_node_waits_no_longer() -> None:
    from kith.cli.main import build_parser
    from kith.node import NodeOptions, reconnect_policy

    assert build_parser().parse_args(["run"]).reconnect_max == NodeOptions().reconnect_max == 30
    assert build_parser().parse_args(["run", "--reconnect-max", "2"]).reconnect_max == 2.0
    policy = reconnect_policy(2.0)
    assert [policy.ceiling(n) for n in range(5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert all(0 <= policy.delay(n) <= 2.0 for n in range(50))
    assert reconnect_policy(0.2).ceiling(0) == 0.2  # a bound below the first one
