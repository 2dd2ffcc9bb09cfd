"""Key derivation and Diffie-Hellman helpers of the session layer (pure).

Every label carries the protocol version, so keys of one version can never be
mistaken for keys of another. See ``docs/sessions.md`` for the list.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "KEY_SIZE",
    "HandshakeKeys",
    "KeyPair",
    "RandomSource",
    "chain_step",
    "confirm_tag",
    "default_random",
    "dh",
    "handshake_keys",
    "hkdf",
    "message_key_material",
    "root_step",
    "session_id",
    "transcript_hash",
]

KEY_SIZE: Final = 32
NONCE_SIZE: Final = 12

LABEL_TRANSCRIPT: Final = b"kith-session-v1/transcript"
LABEL_HANDSHAKE: Final = b"kith-session-v1/handshake"
LABEL_SESSION_ID: Final = b"kith-session-v1/session-id"
LABEL_ROOT: Final = b"kith-session-v1/root"
LABEL_MESSAGE: Final = b"kith-session-v1/message"
_CHAIN_MESSAGE: Final = b"\x01"
_CHAIN_NEXT: Final = b"\x02"
_HANDSHAKE_PAD: Final = b"\xff" * KEY_SIZE

RandomSource = Callable[[int], bytes]
"""Returns that many random bytes; ``secrets.token_bytes`` unless a test passes one."""


def default_random(size: int) -> bytes:
    """Cryptographically secure random bytes."""
    return secrets.token_bytes(size)


@dataclass(frozen=True)
class KeyPair:
    """An X25519 key pair as raw bytes. ``repr`` never shows the private half."""

    private: bytes = field(repr=False)
    public: bytes
    key: X25519PrivateKey | None = field(default=None, repr=False, compare=False)
    """The private half parsed once (loading one costs as much as an exchange)."""

    @classmethod
    def generate(cls, random: RandomSource) -> KeyPair:
        """A new key pair from 32 bytes of ``random``."""
        return cls.from_private(random(KEY_SIZE))

    @classmethod
    def from_private(cls, private: bytes) -> KeyPair:
        """Rebuild a key pair from its private half."""
        key = X25519PrivateKey.from_private_bytes(private)
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(private, public, key)

    def exchange(self, public: bytes) -> bytes:
        """X25519 of this private key and ``public`` (see :func:`dh`)."""
        if self.key is None:
            return dh(self.private, public)
        return self.key.exchange(X25519PublicKey.from_public_bytes(public))


def dh(private: bytes, public: bytes) -> bytes:
    """X25519 of a private and a public key.

    Raises:
        ValueError: the public key is a low-order point (all-zero output).
    """
    peer = X25519PublicKey.from_public_bytes(public)
    return X25519PrivateKey.from_private_bytes(private).exchange(peer)


def hkdf(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def transcript_hash(
    initiator: bytes, responder: bytes, initiator_eph: bytes, responder_eph: bytes
) -> bytes:
    """SHA-256 over the version label, both identity keys and both ephemerals."""
    parts = (LABEL_TRANSCRIPT, initiator, responder, initiator_eph, responder_eph)
    return hashlib.sha256(b"".join(parts)).digest()


@dataclass(frozen=True)
class HandshakeKeys:
    """Everything the handshake derives. ``repr`` never shows a key."""

    root_key: bytes = field(repr=False)
    initiator_confirm: bytes = field(repr=False)
    responder_confirm: bytes = field(repr=False)
    responder_chain: bytes = field(repr=False)


def handshake_keys(dh_outputs: bytes, transcript: bytes) -> HandshakeKeys:
    """Mix the four DH outputs under the transcript hash into the session keys."""
    out = hkdf(_HANDSHAKE_PAD + dh_outputs, salt=transcript, info=LABEL_HANDSHAKE, length=128)
    parts = [out[i : i + KEY_SIZE] for i in range(0, 128, KEY_SIZE)]
    return HandshakeKeys(*parts)


def session_id(transcript: bytes) -> bytes:
    """A public 16-byte name for the session, carried in every message frame."""
    return hashlib.sha256(LABEL_SESSION_ID + transcript).digest()[:16]


def confirm_tag(key: bytes, label: bytes, transcript: bytes) -> bytes:
    """HMAC-SHA256 key-confirmation tag."""
    return hmac.digest(key, label + transcript, "sha256")


def root_step(root_key: bytes, dh_output: bytes) -> tuple[bytes, bytes]:
    """Root KDF: returns the next root key and a new chain key."""
    out = hkdf(dh_output, salt=root_key, info=LABEL_ROOT, length=2 * KEY_SIZE)
    return out[:KEY_SIZE], out[KEY_SIZE:]


def chain_step(chain_key: bytes) -> tuple[bytes, bytes]:
    """Chain KDF (HMAC-SHA256): returns the next chain key and a message key."""
    message_key = hmac.digest(chain_key, _CHAIN_MESSAGE, "sha256")
    next_chain = hmac.digest(chain_key, _CHAIN_NEXT, "sha256")
    return next_chain, message_key


def message_key_material(message_key: bytes) -> tuple[bytes, bytes]:
    """Expand a message key into a ChaCha20-Poly1305 key and nonce."""
    out = hkdf(message_key, salt=bytes(KEY_SIZE), info=LABEL_MESSAGE, length=KEY_SIZE + NONCE_SIZE)
    return out[:KEY_SIZE], out[KEY_SIZE:]
