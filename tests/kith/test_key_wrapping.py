"""Wrapping the database key: passphrase AEAD, key file format, keyring detection."""

from __future__ import annotations

import os
from typing import Any

import pytest

from kith.errors import KeyStoreError, PassphraseError, WrongPassphraseError
from kith.keyprotect import Protection, choose_protection, oskeyring, unwrap_key, wrap_key, wrapfile
from kith.keyprotect.passphrase import new_params, unwrap, wrap
from kith.keyprotect.wrapfile import PassphraseWrap

KEY = os.urandom(32)
CHEAP = new_params(memory_kib=1024, time_cost=1)


def _wrapped() -> PassphraseWrap:
    return wrap(KEY, "correct horse", CHEAP)


def test_passphrase_round_trip() -> None:
    assert unwrap(_wrapped(), "correct horse") == KEY


def test_wrong_passphrase_is_detected_by_the_aead() -> None:
    with pytest.raises(WrongPassphraseError, match="wrong passphrase"):
        unwrap(_wrapped(), "battery staple")


def test_tampered_kdf_parameters_fail_authentication() -> None:
    wrapped = _wrapped()
    weaker = wrapfile.Argon2Params(
        memory_kib=wrapped.kdf.memory_kib,
        time_cost=wrapped.kdf.time_cost + 1,
        parallelism=wrapped.kdf.parallelism,
        salt=wrapped.kdf.salt,
    )
    tampered = PassphraseWrap(
        wrapped.format, wrapped.version, weaker, wrapped.nonce, wrapped.ciphertext
    )
    with pytest.raises(WrongPassphraseError):
        unwrap(tampered, "correct horse")


def test_key_file_round_trip_keeps_the_parameters() -> None:
    wrapped = _wrapped()
    again = wrapfile.decode(wrapfile.encode(wrapped))
    assert again == wrapped


def test_key_file_never_holds_the_key_in_the_clear() -> None:
    data = wrapfile.encode(_wrapped())
    assert KEY not in data
    assert KEY.hex().encode() not in data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{}",
        b"not json",
        b'{"method": "passphrase", "format": "kith-key", "version": 9}',
        b'{"method": "\xff"}',
        b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=["empty", "empty-object", "not-json", "future-version", "bad-utf8", "deep-nesting"],
)
def test_damaged_key_file_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(KeyStoreError) as info:
        wrapfile.decode(data)
    assert info.value.code == "key_file_damaged"


def test_huge_kdf_parameters_in_a_key_file_are_refused() -> None:
    text = wrapfile.encode(_wrapped()).decode().replace('"memory_kib": 1024', '"memory_kib": 1e12')
    with pytest.raises(KeyStoreError):
        wrapfile.decode(text.encode())


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(PassphraseError):
        wrap_key(KEY, Protection.PASSPHRASE, "")


def test_unwrap_without_passphrase_is_a_clear_error() -> None:
    with pytest.raises(PassphraseError):
        unwrap_key(_wrapped(), None)


def test_forced_passphrase_wins_over_any_key_store() -> None:
    assert choose_protection(force_passphrase=True) is Protection.PASSPHRASE


class FakeBackend:
    def __init__(self, priority: float, backends: list[Any] | None = None) -> None:
        self.priority = priority
        self.backends = backends or []


def _backend_from(module: str, priority: float, backends: list[Any] | None = None) -> Any:
    cls = type("Keyring", (FakeBackend,), {"__module__": module})
    return cls(priority, backends)


def test_fail_and_null_keyrings_are_not_real() -> None:
    assert not oskeyring._is_real(_backend_from("keyring.backends.fail", 0))
    assert not oskeyring._is_real(_backend_from("keyring.backends.null", 0))


def test_chainer_is_real_only_with_a_real_backend_inside() -> None:
    empty = _backend_from("keyring.backends.chainer", 10, [])
    real = _backend_from("keyring.backends.chainer", 10, [_backend_from("x.SecretService", 5)])
    assert not oskeyring._is_real(empty)
    assert oskeyring._is_real(real)


def test_wrapped_key_repr_does_not_show_the_key() -> None:
    assert KEY.hex() not in repr(_wrapped())


def test_default_argon2_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITH_ARGON2_PROFILE", raising=False)
    params = new_params()
    assert (params.memory_kib, params.time_cost, params.parallelism) == (65536, 3, 2)


def test_test_profile_parameters_travel_with_the_wrapped_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITH_ARGON2_PROFILE", "test")
    wrapped = wrap(KEY, "pw")
    monkeypatch.delenv("KITH_ARGON2_PROFILE")
    assert wrapped.kdf.memory_kib == 8 * 1024
    assert unwrap(wrapped, "pw") == KEY
