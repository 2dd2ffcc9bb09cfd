"""Identity key material shared by the node and the protocol.

A Kith identity is one Ed25519 key pair. The X25519 key used for key
agreement is derived from it the way libsodium does
(``crypto_sign_ed25519_*_to_curve25519``), so a contact's ID alone gives both
their signing key and their key-agreement key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl import bindings

from kith_proto.ids import format_id

__all__ = ["IdentityKeys", "verify_signature", "x25519_public_from_ed25519"]

SEED_SIZE = 32


def x25519_public_from_ed25519(ed25519_public: bytes) -> bytes:
    """Return the X25519 public key that corresponds to an Ed25519 public key."""
    return bytes(bindings.crypto_sign_ed25519_pk_to_curve25519(ed25519_public))


def verify_signature(ed25519_public: bytes, signature: bytes, message: bytes) -> bool:
    """Return True when ``signature`` is a valid Ed25519 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    try:
        Ed25519PublicKey.from_public_bytes(ed25519_public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class IdentityKeys:
    """An Ed25519 identity key pair, built from its 32-byte seed.

    The seed is the only secret; ``repr`` never shows it.
    """

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_SIZE:
            raise ValueError(f"identity seed must be {SEED_SIZE} bytes")

    @classmethod
    def generate(cls) -> IdentityKeys:
        """Make a new random identity."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(seed)

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def kith_id(self) -> str:
        """The shareable ID."""
        return format_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` with the Ed25519 key."""
        return self._private.sign(message)

    def x25519_private(self) -> bytes:
        """The X25519 private key derived from the Ed25519 key."""
        return bytes(bindings.crypto_sign_ed25519_sk_to_curve25519(self.seed + self.public_key))

    def x25519_public(self) -> bytes:
        """The X25519 public key derived from the Ed25519 key."""
        return x25519_public_from_ed25519(self.public_key)

    def agree(self, peer_ed25519_public: bytes) -> bytes:
        """X25519 shared secret with the holder of ``peer_ed25519_public``."""
        peer = x25519_public_from_ed25519(peer_ed25519_public)
        return bytes(bindings.crypto_scalarmult(self.x25519_private(), peer))
