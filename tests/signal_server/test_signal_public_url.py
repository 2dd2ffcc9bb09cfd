"""kith-signal on a wildcard address needs --public-url; --help shows the defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kith_signal.cli import parse_args
from kith_signal.public_url import is_wildcard


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", ""])
def test_a_wildcard_host_without_public_url_is_refused(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["--host", host])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--public-url" in err
    assert "docs/deploy.md" in err


def test_a_wildcard_host_with_public_url_is_accepted() -> None:
    args = parse_args(["--host", "0.0.0.0", "--public-url", "ws://signal.example.org:8765"])
    assert args.public_url == "ws://signal.example.org:8765"


@pytest.mark.parametrize(
    ("host", "wildcard"),
    [("127.0.0.1", False), ("192.0.2.7", False), ("signal.example.org", False), ("::1", False)],
)
def test_a_named_address_is_not_a_wildcard(host: str, wildcard: bool) -> None:
    assert is_wildcard(host) is wildcard


def test_the_command_exits_2_with_one_clear_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kith_signal.cli", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "kith-signal: error: --host 0.0.0.0 listens on every address" in done.stderr


def test_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 10000)", "(default: 20.0)", "(default: 127.0.0.1)", "8765"):
        assert shown in text
