"""Exporting a store to a backup file and restoring one into a new data directory.

With files (``vault_dir`` given to :func:`export_backup`), every finished
transfer (received here, or sent and received by the contact) goes in: its
metadata in the sealed payload, its bytes read from the vault one chunk at a
time and sealed again under the backup's own key (``kith.backup.container``),
so the backup needs only its password, never the vault key of the device it
came from. Restoring writes them into the new directory's vault, under its
new vault key, checking every chunk and then the SHA-256; a file whose part
of the backup is damaged or missing is left out and reported, and
everything else is restored.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from kith.account import create_account
from kith.backup import container
from kith.backup.container import TAG_SIZE, FileSeal
from kith.backup.payload import (
    PAYLOAD_VERSION,
    BackupPayload,
    ContactRecord,
    FileEntry,
    checked_settings,
)
from kith.backup.payload import decode as decode_payload
from kith.backup.payload import encode as encode_payload
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.errors import BackupError, PassphraseError, TargetNotEmptyError
from kith.files.frames import chunk_count
from kith.files.names import sanitise_name
from kith.files.transfer import TransferState, chunk_length
from kith.keyprotect.protector import Protection
from kith.models import IdentityInfo
from kith.passphrases import PassphraseSource
from kith.store.file_vault import VAULT_DIR, FileVault
from kith.store.files import FileRecord
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

__all__ = ["RefusedFile", "Restored", "export_backup", "import_backup", "read_backup"]


@dataclass(frozen=True, slots=True)
class RefusedFile:
    """A file of the backup that was not restored, and why."""

    id: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Restored:
    """What :func:`import_backup` restored."""

    info: IdentityInfo
    files: int = 0
    """Files restored, byte-identical to what was backed up."""
    refused: list[RefusedFile] = field(default_factory=list)
    """Files left out because their part of the backup is damaged or missing."""


def _payload_of(store: Store, with_files: bool) -> BackupPayload:
    info = store.identity.info()
    contacts = store.contacts.list()
    files = (
        [
            FileEntry(
                id=f.id,
                contact_id=f.contact_id,
                direction=f.direction,
                name=f.name,
                size=f.size,
                sha256=f.sha256,
                caption=f.caption,
                sent_at=f.sent_at,
            )
            for c in contacts
            for f in store.files.for_contact(c.kith_id)
            # a group file we sent is one vault copy shared by every member's transfer
            if f.state is TransferState.RECEIVED and f.source is None
        ]
        if with_files
        else []
    )
    return BackupPayload(
        version=PAYLOAD_VERSION,
        seed=store.identity.keys().seed,
        name=info.name,
        created_at=info.created_at,
        contacts=[
            ContactRecord(id=c.kith_id, name=c.name, verified=c.verified, added_at=c.added_at)
            for c in contacts
        ],
        settings=dict(store.settings.stored_values()),
        files=files,
    )


def export_backup(
    store: Store, target: Path, password: str, *, vault_dir: Path | None = None
) -> int:
    """Write an encrypted backup of ``store`` to ``target`` (which must not exist).

    Args:
        vault_dir: The store's file vault: given, the finished files go in
            too (streamed, one chunk in memory at a time).

    Returns:
        How many files the backup holds.

    Raises:
        VaultDamaged: a file in the vault does not decrypt (nothing is written).
    """
    if not password:
        raise PassphraseError("the backup password must not be empty")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another file name", code="exists")
    with_files = vault_dir is not None
    payload = store.call(lambda s: _payload_of(s, with_files))
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            if vault_dir is None:
                fh.write(container.seal(encode_payload(payload), password))
            else:
                prefix, seal = container.seal_with_files(encode_payload(payload), password)
                fh.write(prefix)
                vault = FileVault(vault_dir, store.call(lambda s: s.files.vault_key()))
                for position, entry in enumerate(payload.files):
                    _write_file(fh, vault, seal, position, entry)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(payload.files)


def _write_file(
    out: BinaryIO, vault: FileVault, seal: FileSeal, position: int, entry: FileEntry
) -> None:
    with vault.open(entry.id, entry.size) as reader:
        for index, chunk in enumerate(reader.chunks()):
            out.write(seal.seal(position, entry.id, index, chunk))


def _open(source: Path, password: str) -> tuple[BackupPayload, FileSeal | None, int]:
    try:
        fh = source.open("rb")
    except FileNotFoundError:
        raise BackupError(f"no backup file at {source}", code="backup_missing") from None
    with fh:
        data, seal, start = container.open_prefix(fh.read, password)
    return decode_payload(data), seal, start


def read_backup(source: Path, password: str) -> BackupPayload:
    """Read, decrypt and validate a backup file (not its files' bytes)."""
    return _open(source, password)[0]


class _FileRestorer:
    """Copies the files of a backup into a vault, checking each as it goes."""

    def __init__(self, source: Path, seal: FileSeal, start: int, vault_dir: Path) -> None:
        self._source = source
        self._seal = seal
        self._start = start
        self._vault_dir = vault_dir
        self.refused: list[RefusedFile] = []
        self.restored = 0

    def populate(self, store: Store, files: list[FileEntry]) -> None:
        vault = FileVault(self._vault_dir, store.files.vault_key())
        offset = self._start
        with self._source.open("rb") as fh:
            for position, entry in enumerate(files):
                name = sanitise_name(entry.name)
                problem = self._copy(fh, offset, vault, position, entry)
                offset += entry.size + chunk_count(entry.size) * TAG_SIZE
                if problem is not None:
                    vault.delete(entry.id)
                    self.refused.append(RefusedFile(id=entry.id, name=name, reason=problem))
                    continue
                store.files.add(
                    FileRecord(
                        id=entry.id,
                        contact_id=entry.contact_id,
                        direction="in" if entry.direction == "in" else "out",
                        name=name,
                        size=entry.size,
                        sha256=entry.sha256,
                        caption=entry.caption,
                        state=TransferState.RECEIVED,
                        reason=None,
                        have=chunk_count(entry.size),
                        sent_at=entry.sent_at,
                    )
                )
                self.restored += 1

    def _copy(
        self, fh: BinaryIO, offset: int, vault: FileVault, position: int, entry: FileEntry
    ) -> str | None:
        fh.seek(offset)
        digest = hashlib.sha256()
        with vault.create(entry.id) as writer:
            for index in range(chunk_count(entry.size)):
                length = chunk_length(entry.size, index) + TAG_SIZE
                record = fh.read(length)
                if len(record) != length:
                    return "its part of the backup is missing (the backup is truncated)"
                chunk = self._seal.open(position, entry.id, index, record)
                if chunk is None:
                    return "its part of the backup was altered or damaged"
                digest.update(chunk)
                writer.append(chunk)
            if digest.hexdigest() != entry.sha256:
                return "its content does not match its SHA-256"
            writer.sync()
        return None


def _populate(payload: BackupPayload, restorer: _FileRestorer | None) -> Callable[[Store], None]:
    settings = checked_settings(payload)

    def populate(store: Store) -> None:
        for record in payload.contacts:
            _, public_key = canonical_id(record.id)
            store.contacts.add(record.id, public_key, record.name, record.added_at)
            if record.verified:
                store.contacts.set_verified(record.id, True)
        for key, value in settings.items():
            store.settings.set(key, value, payload.created_at)
        if restorer is not None:
            restorer.populate(store, payload.files)

    return populate


def import_backup(
    source: Path,
    password: str,
    data_dir: DataDir,
    *,
    protection: Protection,
    passphrases: PassphraseSource,
) -> Restored:
    """Restore a backup into an empty (or not yet existing) data directory.

    Everything but the files' bytes is checked before anything is written;
    the new database is built in a staging folder and moved into place only
    when complete. Files are checked chunk by chunk as they are copied into
    the new vault; one whose part of the backup does not open is left out
    (:attr:`Restored.refused`) and the rest is restored.
    """
    if not data_dir.is_empty():
        raise TargetNotEmptyError(
            f"{data_dir.path} is not empty: restore into a new or empty data directory"
        )
    payload, seal, start = _open(source, password)
    keys = IdentityKeys(payload.seed)
    if any(c.id == keys.kith_id for c in payload.contacts):
        raise BackupError("the backup's content is invalid: it lists its own ID as a contact")
    vault_dir = data_dir.path / VAULT_DIR
    restorer = None if seal is None else _FileRestorer(source, seal, start, vault_dir)
    try:
        info = create_account(
            data_dir,
            name=payload.name,
            protection=protection,
            passphrases=passphrases,
            keys=keys,
            populate=_populate(payload, restorer),
            now=payload.created_at,
        )
    except BaseException:
        if data_dir.path.exists() and not data_dir.is_initialised():
            shutil.rmtree(vault_dir, ignore_errors=True)
        raise
    if restorer is None:
        return Restored(info)
    return Restored(info, files=restorer.restored, refused=restorer.refused)
