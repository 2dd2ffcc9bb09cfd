"""Choosing how the database key is protected, and wrapping/unwrapping it."""

from __future__ import annotations

import enum
import sys

from kith.errors import KeyStoreError, PassphraseError
from kith.keyprotect import oskeyring, passphrase
from kith.keyprotect.wrapfile import DpapiWrap, KeyringWrap, PassphraseWrap, WrappedKey

__all__ = ["Protection", "choose_protection", "method_of", "unwrap_key", "wrap_key"]


class Protection(enum.Enum):
    """Where the database key's protection comes from."""

    PASSPHRASE = "passphrase"
    KEYRING = "keyring"
    DPAPI = "dpapi"


def choose_protection(*, force_passphrase: bool) -> Protection:
    """DPAPI on Windows, a real OS keyring elsewhere, else a passphrase."""
    if force_passphrase:
        return Protection.PASSPHRASE
    if sys.platform == "win32":
        return Protection.DPAPI
    if oskeyring.has_real_backend():
        return Protection.KEYRING
    return Protection.PASSPHRASE


def method_of(wrapped: WrappedKey) -> Protection:
    """The protection a key file uses."""
    if isinstance(wrapped, PassphraseWrap):
        return Protection.PASSPHRASE
    if isinstance(wrapped, KeyringWrap):
        return Protection.KEYRING
    return Protection.DPAPI


def wrap_key(key: bytes, protection: Protection, secret: str | None) -> WrappedKey:
    """Protect ``key``; ``secret`` is the passphrase for the passphrase method.

    Blocking (Argon2id or an OS call): async callers run it in an executor.
    """
    if protection is Protection.PASSPHRASE:
        if not secret:
            raise PassphraseError("the passphrase must not be empty")
        return passphrase.wrap(key, secret)
    if protection is Protection.KEYRING:
        return oskeyring.store(key)
    from kith.keyprotect import dpapi  # ctypes: only loaded when used

    return dpapi.protect(key)


def unwrap_key(wrapped: WrappedKey, secret: str | None) -> bytes:
    """Recover the key; raise WrongPassphraseError or KeyStoreError on failure."""
    if isinstance(wrapped, PassphraseWrap):
        if secret is None:
            raise PassphraseError("this data directory needs its passphrase")
        key = passphrase.unwrap(wrapped, secret)
    elif isinstance(wrapped, KeyringWrap):
        key = oskeyring.load(wrapped)
    elif isinstance(wrapped, DpapiWrap):
        from kith.keyprotect import dpapi

        key = dpapi.unprotect(wrapped)
    if len(key) != 32:
        raise KeyStoreError("the unwrapped database key has the wrong size")
    return key
