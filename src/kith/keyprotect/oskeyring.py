"""The OS keyring (macOS Keychain, Secret Service, ...) as a key store."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Final

from kith.errors import KeyStoreError
from kith.keyprotect.wrapfile import FORMAT, VERSION, KeyringWrap

__all__ = ["SERVICE", "delete", "has_real_backend", "load", "store"]

SERVICE: Final = "kith"
_FAKE_MODULES: Final = ("keyring.backends.fail", "keyring.backends.null")


def _is_real(backend: Any) -> bool:
    module = type(backend).__module__
    if module.startswith(_FAKE_MODULES):
        return False
    if module.startswith("keyring.backends.chainer"):
        return any(_is_real(b) for b in getattr(backend, "backends", []))
    return float(getattr(backend, "priority", 0)) > 0


def has_real_backend() -> bool:
    """True when the keyring library has a backend that actually stores secrets."""
    try:
        import keyring

        return _is_real(keyring.get_keyring())
    except Exception:  # any import/backend failure simply means "no keyring"
        return False


def store(key: bytes) -> KeyringWrap:
    """Store ``key`` under a new random account name."""
    import keyring
    import keyring.errors

    account = uuid.uuid4().hex
    try:
        keyring.set_password(SERVICE, account, key.hex())
    except keyring.errors.KeyringError as exc:
        raise KeyStoreError(f"the OS keyring refused to store the key: {exc}") from None
    return KeyringWrap(FORMAT, VERSION, service=SERVICE, account=account)


def load(wrapped: KeyringWrap) -> bytes:
    """Read the key back from the keyring."""
    import keyring
    import keyring.errors

    try:
        value = keyring.get_password(wrapped.service, wrapped.account)
    except keyring.errors.KeyringError as exc:
        raise KeyStoreError(f"cannot read the key from the OS keyring: {exc}") from None
    if value is None:
        raise KeyStoreError("the database key is missing from the OS keyring")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise KeyStoreError("the OS keyring entry for Kith is damaged") from None


def delete(wrapped: KeyringWrap) -> None:
    """Remove the keyring entry (used to undo a failed set-up)."""
    import keyring
    import keyring.errors

    # best effort: the entry is useless without the data directory
    with contextlib.suppress(keyring.errors.KeyringError):
        keyring.delete_password(wrapped.service, wrapped.account)
