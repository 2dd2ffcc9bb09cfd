"""The key file: how the database key is wrapped, as versioned JSON.

The file never holds the key in the clear. For the passphrase method it holds
the Argon2id parameters, the salt and the AEAD-wrapped key; for the OS key
store methods it holds a DPAPI blob or the name of the keyring entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

from kith.errors import KeyStoreError
from kith.private_files import write_private

__all__ = [
    "FORMAT",
    "MAX_MEMORY_KIB",
    "MAX_PARALLELISM",
    "MAX_TIME_COST",
    "VERSION",
    "Argon2Params",
    "DpapiWrap",
    "KeyringWrap",
    "PassphraseWrap",
    "WrappedKey",
    "decode",
    "encode",
    "load",
    "save",
]

FORMAT: Final = "kith-key"
VERSION: Final = 1
#: Bounds on Argon2id parameters read from any file (key file, backup header):
#: well above what ``kith init`` or ``kith backup export`` write (64 MiB, t=3,
#: p=2), far below what would let a tampered file stall or exhaust the machine
#: before the passphrase is even checked.
MAX_MEMORY_KIB: Final = 1024 * 1024
MAX_TIME_COST: Final = 10
MAX_PARALLELISM: Final = 8


class Argon2Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Argon2id cost parameters and salt; bounded so a tampered file cannot hang us.

    Decoding refuses parameters out of bounds (memory at most 1 GiB, t at
    most 10, p at most 8), so nothing derives a key with them.
    """

    memory_kib: int
    time_cost: int
    parallelism: int
    salt: bytes
    name: str = "argon2id"

    def __post_init__(self) -> None:
        if self.name != "argon2id":
            raise ValueError("only argon2id is supported")
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            raise ValueError(f"parallelism out of range (1 to {MAX_PARALLELISM})")
        if not 8 * self.parallelism <= self.memory_kib <= MAX_MEMORY_KIB:
            raise ValueError(f"memory_kib out of range (at most {MAX_MEMORY_KIB} KiB)")
        if not 1 <= self.time_cost <= MAX_TIME_COST:
            raise ValueError(f"time_cost out of range (1 to {MAX_TIME_COST})")
        if len(self.salt) < 16:
            raise ValueError("salt too short")


class _Base(msgspec.Struct, frozen=True, tag_field="method", forbid_unknown_fields=True):
    format: str
    version: int

    def __post_init__(self) -> None:
        if self.format != FORMAT:
            raise ValueError("not a Kith key file")
        if self.version != VERSION:
            raise ValueError(f"unsupported key file version {self.version}")


class PassphraseWrap(_Base, frozen=True, tag="passphrase"):
    """Key wrapped with ChaCha20-Poly1305 under an Argon2id-derived key."""

    kdf: Argon2Params
    nonce: bytes
    ciphertext: bytes = msgspec.field(name="wrapped_key")
    aead: str = "chacha20-poly1305"


class KeyringWrap(_Base, frozen=True, tag="keyring"):
    """Key kept in the OS keyring under ``service``/``account``."""

    service: str
    account: str


class DpapiWrap(_Base, frozen=True, tag="dpapi"):
    """Key protected by Windows DPAPI for the current user."""

    blob: bytes


WrappedKey = PassphraseWrap | KeyringWrap | DpapiWrap


def encode(wrapped: WrappedKey) -> bytes:
    """Serialise to pretty JSON."""
    return msgspec.json.format(msgspec.json.encode(wrapped), indent=2) + b"\n"


def decode(data: bytes) -> WrappedKey:
    """Parse a key file; raise KeyStoreError if it is damaged or unknown."""
    try:
        wrapped: WrappedKey = msgspec.json.decode(data, type=WrappedKey)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise KeyStoreError(f"the key file is damaged ({exc})", code="key_file_damaged") from None
    except (UnicodeError, RecursionError):  # msgspec's other answers to garbage
        raise KeyStoreError("the key file is damaged", code="key_file_damaged") from None
    return wrapped


def load(path: Path) -> WrappedKey:
    """Read and parse the key file at ``path``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyStoreError(
            f"the key file {path.name} is missing", code="key_file_missing"
        ) from None
    return decode(data)


def save(path: Path, wrapped: WrappedKey) -> None:
    """Write the key file atomically (temp file, fsync, rename)."""
    write_private(path, encode(wrapped))
