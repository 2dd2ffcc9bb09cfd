"""Protecting the database key: passphrase (Argon2id), OS keyring, or Windows DPAPI."""

from kith.keyprotect.protector import Protection, choose_protection, unwrap_key, wrap_key
from kith.keyprotect.wrapfile import WrappedKey

__all__ = ["Protection", "WrappedKey", "choose_protection", "unwrap_key", "wrap_key"]
