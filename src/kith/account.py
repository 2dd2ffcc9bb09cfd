"""Creating, unlocking and opening a data directory.

This is the public entry point for everything that needs the database:
:func:`open_store` for synchronous code (the CLI), :func:`open_async_store`
for the asyncio node (Argon2id and SQLCipher run on the store's worker
thread). :func:`create_account` builds a new data directory in a staging
folder and moves it into place only when complete, so a failed ``init`` or
restore leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kith.datadir import DataDir
from kith.errors import AlreadyInitialisedError, KeyStoreError, NotInitialisedError
from kith.keyprotect import wrapfile
from kith.keyprotect.oskeyring import delete as delete_keyring_entry
from kith.keyprotect.protector import Protection, method_of, unwrap_key, wrap_key
from kith.keyprotect.wrapfile import KeyringWrap, WrappedKey
from kith.models import IdentityInfo
from kith.passphrases import PassphraseSource
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

if TYPE_CHECKING:
    from kith.store.async_store import AsyncStore

__all__ = [
    "change_passphrase",
    "create_account",
    "open_async_store",
    "open_store",
    "protection_of",
    "unlock",
]

Populate = Callable[[Store], None]


def _check_unlockable(data_dir: DataDir) -> None:
    if data_dir.key_path.exists():
        return
    if data_dir.db_path.exists():
        raise KeyStoreError(
            f"{data_dir.path} has a database but no key file {data_dir.key_path.name}: "
            "restore it from a backup",
            code="key_file_missing",
        )
    raise NotInitialisedError(f"no Kith identity in {data_dir.path}: run `kith init` first")


def _read_wrapped(data_dir: DataDir) -> WrappedKey:
    _check_unlockable(data_dir)
    return wrapfile.load(data_dir.key_path)


def _secret_for(wrapped: WrappedKey, passphrases: PassphraseSource) -> str | None:
    if method_of(wrapped) is Protection.PASSPHRASE:
        return passphrases.passphrase("Passphrase")
    return None


def protection_of(data_dir: DataDir) -> Protection:
    """How the data directory's key is protected."""
    return method_of(_read_wrapped(data_dir))


def unlock(data_dir: DataDir, passphrases: PassphraseSource) -> bytes:
    """Return the database key (blocking: Argon2id or an OS key store call)."""
    wrapped = _read_wrapped(data_dir)
    return unwrap_key(wrapped, _secret_for(wrapped, passphrases))


def open_store(data_dir: DataDir, passphrases: PassphraseSource) -> Store:
    """Unlock and open the data directory's database on the calling thread."""
    key = unlock(data_dir, passphrases)
    return Store.open(data_dir.db_path, key)


async def open_async_store(data_dir: DataDir, passphrases: PassphraseSource) -> AsyncStore:
    """Unlock and open for asyncio code; the blocking work runs on the store thread.

    ``passphrases`` is asked on the event-loop thread, so the node should pass a
    non-interactive source (``KITH_PASSPHRASE`` or a fixed value).
    """
    from kith.store.async_store import AsyncStore

    wrapped = _read_wrapped(data_dir)
    secret = _secret_for(wrapped, passphrases)
    return await AsyncStore.open_unlocked(lambda: (data_dir.db_path, unwrap_key(wrapped, secret)))


def change_passphrase(data_dir: DataDir, old: PassphraseSource, new: PassphraseSource) -> None:
    """Rewrap the database key under a new passphrase (the database is untouched)."""
    wrapped = _read_wrapped(data_dir)
    if method_of(wrapped) is not Protection.PASSPHRASE:
        raise KeyStoreError(
            "this data directory is protected by the OS key store, not by a passphrase",
            code="not_passphrase",
        )
    key = unwrap_key(wrapped, old.passphrase("Current passphrase"))
    secret = new.passphrase("New passphrase", confirm=True)
    wrapfile.save(data_dir.key_path, wrap_key(key, Protection.PASSPHRASE, secret))


def create_account(
    data_dir: DataDir,
    *,
    name: str,
    protection: Protection,
    passphrases: PassphraseSource,
    keys: IdentityKeys | None = None,
    populate: Populate | None = None,
    now: float | None = None,
) -> IdentityInfo:
    """Create a new identity (or restore ``keys``) in a data directory.

    Raises:
        AlreadyInitialisedError: an identity (or part of one) is already there.
    """
    if data_dir.is_initialised():
        raise AlreadyInitialisedError(
            f"{data_dir.path} already holds a Kith identity; it was left unchanged"
        )
    secret = None
    if protection is Protection.PASSPHRASE:
        secret = passphrases.passphrase("New passphrase", confirm=True)
    created = not data_dir.path.exists()
    data_dir.path.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.path.chmod(0o700)  # an existing (empty) directory may have been looser
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=data_dir.path))
    wrapped: WrappedKey | None = None
    try:
        key = os.urandom(32)
        wrapped = wrap_key(key, protection, secret)
        info = _build(staging, key, wrapped, keys or IdentityKeys.generate(), name, populate, now)
        os.replace(staging / data_dir.db_path.name, data_dir.db_path)
        os.replace(staging / data_dir.key_path.name, data_dir.key_path)
    except BaseException:
        _undo(data_dir, wrapped, created)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def _build(
    staging: Path,
    key: bytes,
    wrapped: WrappedKey,
    keys: IdentityKeys,
    name: str,
    populate: Populate | None,
    now: float | None,
) -> IdentityInfo:
    from kith.datadir import DB_FILE, KEY_FILE

    with Store.create(staging / DB_FILE, key) as store, store.transaction():
        info = store.identity.create(keys, name, time.time() if now is None else now)
        if populate is not None:
            populate(store)
    wrapfile.save(staging / KEY_FILE, wrapped)
    for name in (DB_FILE, KEY_FILE):
        (staging / name).chmod(0o600)  # owner only (no effect on Windows ACLs)
    return info


def _undo(data_dir: DataDir, wrapped: WrappedKey | None, created: bool) -> None:
    for path in (data_dir.key_path, data_dir.db_path):
        if path.exists() and not data_dir.key_path.exists():
            path.unlink()  # only a db without key can be ours: the key moves last
    if isinstance(wrapped, KeyringWrap):
        delete_keyring_entry(wrapped)
    if created:
        shutil.rmtree(data_dir.path, ignore_errors=True)
