"""Exporting a store to a backup file and restoring one into a new data directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from kith.account import create_account
from kith.backup import container
from kith.backup.payload import PAYLOAD_VERSION, BackupPayload, ContactRecord, checked_settings
from kith.backup.payload import decode as decode_payload
from kith.backup.payload import encode as encode_payload
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.errors import BackupError, PassphraseError, TargetNotEmptyError
from kith.keyprotect.protector import Protection
from kith.models import IdentityInfo
from kith.passphrases import PassphraseSource
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

__all__ = ["export_backup", "import_backup", "read_backup"]


def _payload_of(store: Store) -> BackupPayload:
    info = store.identity.info()
    contacts = [
        ContactRecord(id=c.kith_id, name=c.name, verified=c.verified, added_at=c.added_at)
        for c in store.contacts.list()
    ]
    return BackupPayload(
        version=PAYLOAD_VERSION,
        seed=store.identity.keys().seed,
        name=info.name,
        created_at=info.created_at,
        contacts=contacts,
        settings=dict(store.settings.stored_values()),
    )


def export_backup(store: Store, target: Path, password: str) -> None:
    """Write an encrypted backup of ``store`` to ``target`` (which must not exist)."""
    if not password:
        raise PassphraseError("the backup password must not be empty")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another file name", code="exists")
    sealed = container.seal(encode_payload(store.call(_payload_of)), password)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(sealed)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_backup(source: Path, password: str) -> BackupPayload:
    """Read, decrypt and validate a backup file."""
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise BackupError(f"no backup file at {source}", code="backup_missing") from None
    return decode_payload(container.open_sealed(data, password))


def _populate(payload: BackupPayload) -> Callable[[Store], None]:
    settings = checked_settings(payload)

    def populate(store: Store) -> None:
        for record in payload.contacts:
            _, public_key = canonical_id(record.id)
            store.contacts.add(record.id, public_key, record.name, record.added_at)
            if record.verified:
                store.contacts.set_verified(record.id, True)
        for key, value in settings.items():
            store.settings.set(key, value, payload.created_at)

    return populate


def import_backup(
    source: Path,
    password: str,
    data_dir: DataDir,
    *,
    protection: Protection,
    passphrases: PassphraseSource,
) -> IdentityInfo:
    """Restore a backup into an empty (or not yet existing) data directory.

    Everything is checked before anything is written; the new directory is
    built in a staging folder and moved into place only when complete.
    """
    if not data_dir.is_empty():
        raise TargetNotEmptyError(
            f"{data_dir.path} is not empty: restore into a new or empty data directory"
        )
    payload = read_backup(source, password)
    keys = IdentityKeys(payload.seed)
    if any(c.id == keys.kith_id for c in payload.contacts):
        raise BackupError("the backup's content is invalid: it lists its own ID as a contact")
    return create_account(
        data_dir,
        name=payload.name,
        protection=protection,
        passphrases=passphrases,
        keys=keys,
        populate=_populate(payload),
        now=payload.created_at,
    )
