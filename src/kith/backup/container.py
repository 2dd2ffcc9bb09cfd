"""The backup file container (pure): versioned header + AEAD-sealed payload.

Layout (all integers big-endian)::

    offset size  field
    0      8     magic  b"KITHBAK\\0"
    8      2     format version (1)
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
"""

from __future__ import annotations

import os
import struct
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from kith.errors import BackupError
from kith.keyprotect.passphrase import derive, new_params
from kith.keyprotect.wrapfile import Argon2Params

__all__ = ["HEADER_SIZE", "MAGIC", "VERSION", "open_sealed", "seal"]

MAGIC: Final = b"KITHBAK\x00"
VERSION: Final = 1
_KDF_ARGON2ID: Final = 1
_AEAD_CHACHA: Final = 1
_LAYOUT: Final = struct.Struct(">8sHBBIII16s12s")
HEADER_SIZE: Final = _LAYOUT.size
_TAG_SIZE: Final = 16


def seal(payload: bytes, password: str, params: Argon2Params | None = None) -> bytes:
    """Encrypt ``payload`` under ``password`` (blocking: Argon2id)."""
    params = params or new_params()
    nonce = os.urandom(12)
    header = _LAYOUT.pack(
        MAGIC,
        VERSION,
        _KDF_ARGON2ID,
        _AEAD_CHACHA,
        params.memory_kib,
        params.time_cost,
        params.parallelism,
        params.salt,
        nonce,
    )
    return header + ChaCha20Poly1305(derive(password, params)).encrypt(nonce, payload, header)


def _damaged(detail: str) -> BackupError:
    return BackupError(f"this is not a valid Kith backup: {detail}", code="backup_damaged")


def _parse_header(data: bytes) -> tuple[Argon2Params, bytes]:
    if len(data) < HEADER_SIZE + _TAG_SIZE:
        raise _damaged("the file is too short (truncated?)")
    magic, version, kdf, aead, memory, time_cost, lanes, salt, nonce = _LAYOUT.unpack_from(data)
    if magic != MAGIC:
        raise _damaged("it does not start with the Kith backup signature")
    if version != VERSION:
        raise BackupError(
            f"this backup has format version {version}; this Kith reads version {VERSION}",
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
    return params, nonce


def open_sealed(data: bytes, password: str) -> bytes:
    """Check and decrypt a backup; raise BackupError on any problem."""
    params, nonce = _parse_header(data)
    aead = ChaCha20Poly1305(derive(password, params))
    try:
        return aead.decrypt(nonce, data[HEADER_SIZE:], data[:HEADER_SIZE])
    except InvalidTag:
        raise BackupError(
            "cannot open the backup: wrong password, or the file was altered or damaged",
            code="backup_auth",
        ) from None
