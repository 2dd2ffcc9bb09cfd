"""File bytes at rest: one encrypted file per transfer under the data directory.

A vault file holds a header (magic and a random 16-byte salt) and then one
record per 64 KiB chunk of the plaintext::

    record = nonce (12 random bytes) || ChaCha20-Poly1305(chunk, aad = index as u64)

under a per-file key, HKDF-SHA256 of the vault key (kept in the database),
the salt and the transfer ID. Records are appended and read one at a time,
so writing, reading, resuming and hashing stay flat in memory whatever the
file size. Every record but the last is full, so record ``i`` sits at a fixed
offset, and how many leading chunks a partial file holds is read from its
length (a record cut short by a crash is dropped, the last whole one is
checked by decrypting it).

Blocking file I/O: the runtime calls these from a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kith.files.errors import InvalidFile
from kith.files.frames import CHUNK_SIZE, MAX_FILE_SIZE, check_transfer_id, chunk_count
from kith.files.transfer import chunk_length

__all__ = ["VAULT_DIR", "FileVault", "VaultDamaged", "VaultReader", "VaultWriter"]

VAULT_DIR: Final = "files"
"""The vault's folder inside the data directory."""
_MAGIC: Final = b"kithfv1\x00"
_SALT: Final = 16
_HEADER: Final = len(_MAGIC) + _SALT
_NONCE: Final = 12
_TAG: Final = 16
_OVERHEAD: Final = _NONCE + _TAG
_FULL_RECORD: Final = CHUNK_SIZE + _OVERHEAD
_INDEX: Final = struct.Struct(">Q")


class VaultDamaged(InvalidFile):
    """A vault file does not decrypt or is shorter than its metadata says."""

    code = "file_damaged"


def _record_offset(index: int) -> int:
    return _HEADER + index * _FULL_RECORD


class FileVault:
    """The encrypted files of one data directory.

    Args:
        directory: The vault folder (made on first write, mode 0700).
        key: The vault key (32 bytes, from the database).
    """

    def __init__(self, directory: Path, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the vault key is 32 bytes")
        self._dir = directory
        self._key = key

    def path(self, file_id: str) -> Path:
        """Where the file of transfer ``file_id`` lives."""
        if check_transfer_id(file_id) is not None:
            raise ValueError("not a transfer ID")
        return self._dir / f"{file_id}.kf"

    def exists(self, file_id: str) -> bool:
        """Whether the vault holds (part of) this file."""
        return self.path(file_id).exists()

    def create(self, file_id: str) -> VaultWriter:
        """Start the file of a transfer afresh (replacing any old one)."""
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        salt = os.urandom(_SALT)
        path = self.path(file_id)
        handle = path.open("wb")
        handle.write(_MAGIC + salt)
        return VaultWriter(handle, self._aead(file_id, salt), 0)

    def resume(self, file_id: str, size: int) -> VaultWriter:
        """Go on writing a partial file: it holds ``writer.have`` leading chunks
        (anything after the last whole, authentic record is cut off)."""
        path = self.path(file_id)
        if not path.exists():
            return self.create(file_id)
        handle = path.open("r+b")
        header = handle.read(_HEADER)
        if len(header) < _HEADER or not header.startswith(_MAGIC):
            handle.close()
            return self.create(file_id)
        aead = self._aead(file_id, header[len(_MAGIC) :])
        length = handle.seek(0, os.SEEK_END)
        have = _whole_records(length, size)
        while have and _decrypt_at(handle, aead, have - 1, size) is None:
            have -= 1
        handle.truncate(_record_offset(have))
        handle.seek(_record_offset(have))
        return VaultWriter(handle, aead, have)

    def open(self, file_id: str, size: int) -> VaultReader:
        """Read a stored file of ``size`` bytes.

        Raises:
            VaultDamaged: the file is missing or has a bad header.
        """
        try:
            handle = self.path(file_id).open("rb")
        except FileNotFoundError:
            raise VaultDamaged("the stored file is missing") from None
        header = handle.read(_HEADER)
        if len(header) < _HEADER or not header.startswith(_MAGIC):
            handle.close()
            raise VaultDamaged("the stored file is damaged")
        return VaultReader(handle, self._aead(file_id, header[len(_MAGIC) :]), size)

    def import_file(
        self, file_id: str, source: Path, max_size: int = MAX_FILE_SIZE
    ) -> tuple[int, str]:
        """Encrypt ``source`` into the vault, streaming; return its size and SHA-256.

        Raises:
            InvalidFile: ``source`` is missing, a directory, unreadable, or
                larger than ``max_size`` (1 TiB, what an offer may carry).
        """
        try:
            handle = source.open("rb")
        except FileNotFoundError:
            raise InvalidFile(f"no such file: {source}", code="file_not_found") from None
        except IsADirectoryError:
            raise InvalidFile(f"{source} is a directory, not a file", code="is_directory") from None
        except OSError as exc:
            raise InvalidFile(
                f"cannot read {source}: {exc.strerror}", code="file_unreadable"
            ) from None
        digest = hashlib.sha256()
        size = 0
        with handle:
            if not source.is_file():
                raise InvalidFile(f"{source} is not a regular file", code="not_a_file")
            if os.fstat(handle.fileno()).st_size > max_size:
                raise InvalidFile(
                    f"{source} is larger than {max_size} bytes", code="file_too_large"
                )
            try:
                with self.create(file_id) as writer:
                    while chunk := handle.read(CHUNK_SIZE):
                        digest.update(chunk)
                        size += len(chunk)
                        writer.append(chunk)
                    writer.sync()
            except OSError as exc:
                self.delete(file_id)
                raise InvalidFile(
                    f"could not copy {source} into the encrypted store: {exc.strerror}",
                    code="file_unreadable",
                ) from None
            except BaseException:
                self.delete(file_id)
                raise
        return size, digest.hexdigest()

    def sha256(self, file_id: str, size: int) -> str:
        """The SHA-256 of a stored file, read chunk by chunk.

        Raises:
            VaultDamaged: a record is missing or does not decrypt.
        """
        digest = hashlib.sha256()
        with self.open(file_id, size) as reader:
            for chunk in reader.chunks():
                digest.update(chunk)
        return digest.hexdigest()

    def export(self, file_id: str, size: int, dest: Path) -> None:
        """Write a stored file out in the clear to ``dest`` (a new file; never replaced).

        Raises:
            VaultDamaged: the stored file does not decrypt (``dest`` is removed).
            FileExistsError: ``dest`` exists.
        """
        with self.open(file_id, size) as reader, dest.open("xb") as out:
            try:
                for chunk in reader.chunks():
                    out.write(chunk)
            except VaultDamaged:
                out.close()
                dest.unlink(missing_ok=True)
                raise

    def delete(self, file_id: str) -> None:
        """Remove a file (nothing happens if it is not there)."""
        self.path(file_id).unlink(missing_ok=True)

    def _aead(self, file_id: str, salt: bytes) -> ChaCha20Poly1305:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=salt, info=b"kith file " + file_id.encode()
        ).derive(self._key)
        return ChaCha20Poly1305(key)


def _whole_records(length: int, size: int) -> int:
    chunks = chunk_count(size)
    if length <= _HEADER or chunks == 0:
        return 0
    full = (length - _HEADER) // _FULL_RECORD
    if full >= chunks:
        return chunks
    if full == chunks - 1 and length - _record_offset(full) >= _OVERHEAD + chunk_length(size, full):
        return chunks
    return full


def _decrypt_at(handle: BinaryIO, aead: ChaCha20Poly1305, index: int, size: int) -> bytes | None:
    handle.seek(_record_offset(index))
    record = handle.read(_OVERHEAD + chunk_length(size, index))
    if len(record) != _OVERHEAD + chunk_length(size, index):
        return None
    try:
        return aead.decrypt(record[:_NONCE], record[_NONCE:], _INDEX.pack(index))
    except InvalidTag:
        return None


class VaultWriter:
    """Appends chunks to a vault file, in order, from chunk ``have`` on."""

    def __init__(self, handle: BinaryIO, aead: ChaCha20Poly1305, have: int) -> None:
        self._handle = handle
        self._aead = aead
        self.have = have
        """Chunks the file holds."""

    def append(self, chunk: bytes) -> None:
        """Encrypt and append the next chunk."""
        nonce = os.urandom(_NONCE)
        self._handle.write(nonce + self._aead.encrypt(nonce, chunk, _INDEX.pack(self.have)))
        self.have += 1

    def sync(self) -> None:
        """Make what was appended durable."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Flush and close (not synced: call :meth:`sync` first where it matters)."""
        self._handle.close()

    def __enter__(self) -> VaultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VaultReader:
    """Reads and decrypts the chunks of a vault file."""

    def __init__(self, handle: BinaryIO, aead: ChaCha20Poly1305, size: int) -> None:
        self._handle = handle
        self._aead = aead
        self._size = size
        self.count = chunk_count(size)
        """How many chunks the file has."""

    def chunk(self, index: int) -> bytes:
        """Chunk ``index``.

        Raises:
            VaultDamaged: the record is missing, short or does not decrypt.
        """
        if not 0 <= index < self.count:
            raise IndexError(index)
        plain = _decrypt_at(self._handle, self._aead, index, self._size)
        if plain is None:
            raise VaultDamaged("the stored file is damaged or truncated")
        return plain

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        """Every chunk from ``start`` on, in order."""
        for index in range(start, self.count):
            yield self.chunk(index)

    def close(self) -> None:
        """Close the file."""
        with contextlib.suppress(OSError):
            self._handle.close()

    def __enter__(self) -> VaultReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
