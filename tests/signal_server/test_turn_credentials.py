"""TURN credentials in coturn's shared-secret scheme, and the kith-signal
flags that configure them (pure, plus the CLI's parsing: no server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from kith_signal.cli import parse_args
from kith_signal.turn import TurnConfigError, TurnIssuer, turn_credentials, turn_url

SECRET = b"north-sea-herring"


def test_credentials_follow_coturn_use_auth_secret() -> None:
    username, password = turn_credentials(SECRET, 1_800_000_000, "abc")
    assert username == "1800000000:abc"
    expected = hmac.new(SECRET, b"1800000000:abc", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_issuer_sets_the_expiry_from_its_clock_and_ttl() -> None:
    issuer = TurnIssuer(("turn:t.example:3478",), SECRET, 600, clock=lambda: 1000.5)
    (server,) = issuer.issue()
    expiry, _, opaque = server.username.partition(":")
    assert int(expiry) == 1600
    assert server.urls == ["turn:t.example:3478"]
    assert server.credential == turn_credentials(SECRET, 1600, opaque)[1]


def test_usernames_are_random_and_carry_no_identity() -> None:
    issuer = TurnIssuer(("turn:t.example:3478",), SECRET)
    names = {issuer.issue()[0].username.partition(":")[2] for _ in range(50)}
    assert len(names) == 50
    assert all(len(n) >= 16 for n in names)


def test_the_secret_is_not_in_the_issuer_repr() -> None:
    assert "herring" not in repr(TurnIssuer(("turn:t.example:3478",), SECRET))


@pytest.mark.parametrize(
    "url",
    [
        "turn:relay.example.org:3478",
        "turn:203.0.113.7:3478?transport=udp",
        "turn:[2001:db8::1]:3478?transport=tcp",
        "turns:relay.example.org:5349?transport=tcp",
    ],
)
def test_good_turn_urls_are_accepted(url: str) -> None:
    assert turn_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "relay.example.org:3478",
        "stun:relay.example.org:3478",
        "turn:relay.example.org",
        "turn:relay.example.org:0",
        "turn:relay.example.org:70000",
        "turn:relay.example.org:3478?transport=sctp",
        "turns:relay.example.org:5349?transport=udp",
        "turn:user@relay.example.org:3478",
        "",
    ],
)
def test_bad_turn_urls_are_refused(url: str) -> None:
    with pytest.raises(TurnConfigError):
        turn_url(url)


def _secret(tmp_path: Path, text: str) -> str:
    path = tmp_path / "secret"
    path.write_text(text)
    return str(path)


def test_flags_build_an_issuer(tmp_path: Path) -> None:
    secret = _secret(tmp_path, "north-sea-herring\n")
    urls = ["--turn-url", "turn:a.example:3478", "--turn-url", "turn:a.example:3478?transport=tcp"]
    args = parse_args([*urls, "--turn-secret-file", secret, "--turn-ttl", "3600"])
    assert args.turn.urls == ("turn:a.example:3478", "turn:a.example:3478?transport=tcp")
    assert (args.turn.secret, args.turn.ttl) == (SECRET, 3600)


def test_no_turn_flags_mean_no_issuer() -> None:
    assert parse_args([]).turn is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--turn-url", "turn:bad"], "expected turn:HOST:PORT"),
        (["--turn-url", "turn:a.example:3478"], "needs --turn-secret-file"),
        (["--turn-secret-file", "{secret}"], "needs at least one --turn-url"),
        (["--turn-url", "turn:a.example:3478", "--turn-secret-file", "{missing}"], "cannot read"),
        (["--turn-url", "turn:a.example:3478", "--turn-secret-file", "{empty}"], "is empty"),
        (
            [
                "--turn-url",
                "turn:a.example:3478",
                "--turn-secret-file",
                "{secret}",
                "--turn-ttl",
                "10",
            ],
            "--turn-ttl must be",
        ),
    ],
)
def test_bad_turn_flags_are_usage_errors_that_say_why(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "secret": _secret(tmp_path, "s3cret"),
        "missing": str(tmp_path / "missing"),
        "empty": str(tmp_path / "empty"),
    }
    (tmp_path / "empty").write_text("  \n")
    with pytest.raises(SystemExit) as exc:
        parse_args([a.format(**files) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "s3cret" not in err
