"""The backup file container (pure): versioned header + AEAD-sealed payload.

Layout (all integers big-endian)::

    offset size  field
    0      8     magic  b"KITHBAK\\0"
    8      2     format version (1; 2 when files follow the payload)
    10     1     KDF id (1 = Argon2id)
    11     1     AEAD id (1 = ChaCha20-Poly1305)
    12     4     Argon2id memory (KiB)
    16     4     Argon2id time cost
    20     4     Argon2id parallelism
    24     16    salt
    40     12    nonce
    52     ...   ciphertext of the payload, with the 16-byte tag

The 52-byte header is the AEAD's associated data, so any change to it (or to
the ciphertext) makes opening fail.

Version 2 (``--with-files``) puts the payload's length (u32) after the
header, so that the files can follow it, and then every file's chunks in
the payload's order, each chunk sealed on its own::

    52     4     n, the length of the sealed payload
    56     n     the sealed payload (associated data: header and n)
    56+n   ...   for each file, for each of its 64 KiB chunks:
                 ChaCha20-Poly1305(chunk) with the 16-byte tag

A chunk is sealed under HKDF-SHA256(backup key, "kith backup files") with
the nonce (file's position, chunk index) and the header, the file's ID and
the index as associated data, so a chunk can be neither changed nor moved,
and a file's records sit at offsets the sizes in the payload give: a damaged
or missing file part is found by itself, and the files around it still open.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kith.errors import BackupError
from kith.keyprotect.passphrase import derive, new_params
from kith.keyprotect.wrapfile import Argon2Params

__all__ = [
    "HEADER_SIZE",
    "MAGIC",
    "TAG_SIZE",
    "VERSION",
    "VERSION_FILES",
    "FileSeal",
    "open_prefix",
    "open_sealed",
    "seal",
    "seal_with_files",
]

MAGIC: Final = b"KITHBAK\x00"
VERSION: Final = 1
VERSION_FILES: Final = 2
_KDF_ARGON2ID: Final = 1
_AEAD_CHACHA: Final = 1
_LAYOUT: Final = struct.Struct(">8sHBBIII16s12s")
HEADER_SIZE: Final = _LAYOUT.size
_TAG_SIZE: Final = 16
TAG_SIZE: Final = _TAG_SIZE
"""What sealing adds to each file chunk."""
_LENGTH: Final = struct.Struct(">I")
_POSITION: Final = struct.Struct(">IQ")
_FILES_INFO: Final = b"kith backup files"
_MAX_PAYLOAD: Final = 64 * 1024 * 1024
"""A payload is identity, contacts and settings and the files' metadata: far less."""


class FileSeal:
    """Seals and opens the file chunks of one version-2 backup.

    Args:
        key: The backup's key (derived from its password).
        header: The backup's header, bound into every chunk.
    """

    def __init__(self, key: bytes, header: bytes) -> None:
        files_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FILES_INFO).derive(
            key
        )
        self._aead = ChaCha20Poly1305(files_key)
        self._header = header

    def _nonce_and_aad(self, position: int, file_id: str, index: int) -> tuple[bytes, bytes]:
        place = _POSITION.pack(position, index)
        return place, self._header + file_id.encode() + place

    def seal(self, position: int, file_id: str, index: int, chunk: bytes) -> bytes:
        """Chunk ``index`` of the file at ``position`` in the payload's list, sealed."""
        nonce, aad = self._nonce_and_aad(position, file_id, index)
        return self._aead.encrypt(nonce, chunk, aad)

    def open(self, position: int, file_id: str, index: int, record: bytes) -> bytes | None:
        """The chunk, or None when the record was altered, moved or cut short."""
        nonce, aad = self._nonce_and_aad(position, file_id, index)
        try:
            return self._aead.decrypt(nonce, record, aad)
        except InvalidTag:
            return None


def _header(version: int, params: Argon2Params, nonce: bytes) -> bytes:
    return _LAYOUT.pack(
        MAGIC,
        version,
        _KDF_ARGON2ID,
        _AEAD_CHACHA,
        params.memory_kib,
        params.time_cost,
        params.parallelism,
        params.salt,
        nonce,
    )


def seal(payload: bytes, password: str, params: Argon2Params | None = None) -> bytes:
    """Encrypt ``payload`` under ``password`` (blocking: Argon2id)."""
    params = params or new_params()
    nonce = os.urandom(12)
    header = _header(VERSION, params, nonce)
    return header + ChaCha20Poly1305(derive(password, params)).encrypt(nonce, payload, header)


def seal_with_files(
    payload: bytes, password: str, params: Argon2Params | None = None
) -> tuple[bytes, FileSeal]:
    """The start of a version-2 backup (header, length, sealed payload) and the
    seal for the file chunks that follow it (blocking: Argon2id)."""
    params = params or new_params()
    nonce = os.urandom(12)
    header = _header(VERSION_FILES, params, nonce)
    key = derive(password, params)
    length = _LENGTH.pack(len(payload) + _TAG_SIZE)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, payload, header + length)
    return header + length + sealed, FileSeal(key, header)


def _damaged(detail: str) -> BackupError:
    return BackupError(f"this is not a valid Kith backup: {detail}", code="backup_damaged")


def _parse_header(data: bytes) -> tuple[int, Argon2Params, bytes]:
    if len(data) < HEADER_SIZE:
        raise _damaged("the file is too short (truncated?)")
    magic, version, kdf, aead, memory, time_cost, lanes, salt, nonce = _LAYOUT.unpack_from(data)
    if magic != MAGIC:
        raise _damaged("it does not start with the Kith backup signature")
    if version not in (VERSION, VERSION_FILES):
        raise BackupError(
            f"this backup has format version {version}; "
            f"this Kith reads versions {VERSION} and {VERSION_FILES}",
            code="backup_version",
        )
    if kdf != _KDF_ARGON2ID or aead != _AEAD_CHACHA:
        raise _damaged("unknown key derivation or cipher")
    try:
        params = Argon2Params(memory_kib=memory, time_cost=time_cost, parallelism=lanes, salt=salt)
    except ValueError:
        raise _damaged(
            "the key derivation parameters are out of range (the file is damaged or was altered)"
        ) from None
    return version, params, nonce


def _decrypt(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise BackupError(
            "cannot open the backup: wrong password, or the file was altered or damaged",
            code="backup_auth",
        ) from None


def open_sealed(data: bytes, password: str) -> bytes:
    """Check and decrypt a backup's payload; raise BackupError on any problem."""
    payload, _, _ = open_prefix(_reader(data), password)
    return payload


def _reader(data: bytes) -> Callable[[int], bytes]:
    view = memoryview(data)
    offset = 0

    def read(size: int) -> bytes:
        nonlocal offset
        part = bytes(view[offset : offset + size] if size >= 0 else view[offset:])
        offset += len(part)
        return part

    return read


def open_prefix(read: Callable[[int], bytes], password: str) -> tuple[bytes, FileSeal | None, int]:
    """Read a backup's header and payload through ``read(n)`` (``-1``: to the end).

    Returns:
        The decrypted payload, the seal of the file chunks that follow it
        (None for a version-1 backup, which holds no files) and where they start.

    Raises:
        BackupError: the backup is damaged, altered, of another version, or
            the password is wrong.
    """
    head = read(HEADER_SIZE + _LENGTH.size)
    version, params, nonce = _parse_header(head)
    header = head[:HEADER_SIZE]
    if version == VERSION:
        rest = head[HEADER_SIZE:] + read(-1)
        if len(rest) < _TAG_SIZE:
            raise _damaged("the file is too short (truncated?)")
        return _decrypt(derive(password, params), nonce, rest, header), None, 0
    if len(head) < HEADER_SIZE + _LENGTH.size:
        raise _damaged("the file is too short (truncated?)")
    (length,) = _LENGTH.unpack_from(head, HEADER_SIZE)
    if not _TAG_SIZE <= length <= _MAX_PAYLOAD:
        raise _damaged("the payload's length is out of range (the file is damaged or was altered)")
    sealed = read(length)
    if len(sealed) != length:
        raise _damaged("the file is too short (truncated?)")
    key = derive(password, params)
    payload = _decrypt(key, nonce, sealed, head)
    return payload, FileSeal(key, header), len(head) + length
