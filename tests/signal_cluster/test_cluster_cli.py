"""``kith-signal --redis`` and ``--cluster-secret-file``: good and bad input,
refused at start with a clear message."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from kith_signal.cli import parse_args
from kith_signal.cluster.secret import ClusterSecretError, check_secret, tag_key

STRONG = b"3f1c9a0e7b5d42c8a16f0e9d3b7c5a21f4e8d6c0b2a49731e5f8c0d2a4b6e8f0"


def secret_file(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "secret"
    path.write_bytes(content)
    return str(path)


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(list(argv))
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_redis_flags_parse(tmp_path: Path) -> None:
    path = secret_file(tmp_path, STRONG + b"\n")
    shards = ["--redis", "redis://127.0.0.1:6379/0", "--redis", "redis://10.0.0.2:6380/1"]
    args = parse_args([*shards, "--cluster-secret-file", path])
    assert args.redis == ["redis://127.0.0.1:6379/0", "redis://10.0.0.2:6380/1"]
    assert args.cluster_secret == STRONG


def test_without_redis_nothing_changes() -> None:
    args = parse_args([])
    assert args.redis == []
    assert args.cluster_secret is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379/0", "expected redis://HOST:PORT/DB"),
        ("redis://127.0.0.1:notaport/0", "expected redis://HOST:PORT/DB"),
        ("redis:///0", "expected redis://HOST:PORT/DB"),
        ("redis://127.0.0.1:6379/zero", "the database is a number"),
    ],
)
def test_bad_redis_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, message: str
) -> None:
    path = secret_file(tmp_path, STRONG)
    assert message in refused(capsys, "--redis", url, "--cluster-secret-file", path)


def test_redis_without_secret_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(capsys, "--redis", "redis://127.0.0.1:6379/0")
    assert "--redis needs --cluster-secret-file" in err


def test_missing_secret_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope")
    err = refused(capsys, "--redis", "redis://h:1/0", "--cluster-secret-file", missing)
    assert f"--cluster-secret-file {missing}: No such file or directory" in err


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"short-secret\n", "needs at least 32"), (b"ab" * 40, "repeats itself")],
)
def test_weak_secret_is_refused_without_quoting_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, reason: str
) -> None:
    path = secret_file(tmp_path, content)
    err = refused(capsys, "--redis", "redis://h:1/0", "--cluster-secret-file", path)
    assert reason in err
    assert content.strip().decode() not in err


def test_same_shard_twice_and_secret_without_redis_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = secret_file(tmp_path, STRONG)
    url = "redis://127.0.0.1:6379/0"
    assert "given twice" in refused(
        capsys, "--redis", url, "--redis", url, "--cluster-secret-file", path
    )
    assert "goes with --redis" in refused(capsys, "--cluster-secret-file", path)


def test_random_secrets_of_the_documented_kinds_pass() -> None:
    for _ in range(50):
        check_secret(secrets.token_hex(32).encode())
        check_secret(secrets.token_urlsafe(32).encode())
        check_secret(secrets.token_bytes(32))


def test_tag_key_is_shared_by_equal_secrets_only() -> None:
    assert tag_key(check_secret(STRONG + b"\n")) == tag_key(STRONG)
    assert tag_key(STRONG) != tag_key(STRONG[::-1])
    with pytest.raises(ClusterSecretError):
        check_secret(b" " * 64)
