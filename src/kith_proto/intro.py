"""The contact request: a sealed, signed introduction (pure crypto).

A request travels as the payload of the signaling ``intro`` message on the
recipient's intro topic. Only the recipient can open it: it is sealed with
ChaCha20-Poly1305 under a key from X25519 of a fresh ephemeral key and the
recipient's identity key. Inside, the sender's identity key and chosen name
are signed with the sender's identity key over the ephemeral key and the
recipient, so the request cannot be forged in the sender's name nor replayed
to anyone else. Every sealed request has the same size (``INTRO_SIZE``), so
the server learns nothing from it but that someone asked the topic's owner.

Nothing here does I/O or reads a clock; the only side effect is drawing the
ephemeral key and nonce when none are given.
"""

from __future__ import annotations

import os
from typing import ClassVar, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings
from nacl.exceptions import CryptoError

from kith_proto.envelope import MAX_DISPLAY_NAME
from kith_proto.keys import IdentityKeys, verify_signature, x25519_public_from_ed25519

__all__ = [
    "INTRO_SIZE",
    "INTRO_VERSION",
    "MAX_DISPLAY_NAME",
    "ContactRequest",
    "ForgedIntroError",
    "IntroError",
    "MalformedIntroError",
    "UnreadableIntroError",
    "open_intro",
    "seal_intro",
]

INTRO_VERSION: Final = 1
_KEY_SIZE: Final = 32
_NONCE_SIZE: Final = 12
_TAG_SIZE: Final = 16
_SIGNATURE_SIZE: Final = 64
_PADDED_SIZE: Final = 448
"""Every padded plaintext: a length prefix, the signed request, zeros."""
_HEADER_SIZE: Final = 1 + _KEY_SIZE + _NONCE_SIZE
INTRO_SIZE: Final = _HEADER_SIZE + _PADDED_SIZE + _TAG_SIZE
"""Every sealed contact request is exactly this many bytes (509)."""

_KEY_SALT: Final = b"kith/v1/intro"
_KEY_INFO: Final = b"kith/v1/intro-key\x00"
_AAD_LABEL: Final = b"kith/v1/intro-envelope\x00"
_SIGN_LABEL: Final = b"kith/v1/intro-signature\x00"
_MAX_U63: Final = 2**63


class IntroError(ValueError):
    """Base of the errors raised when a contact request cannot be opened.

    Attributes:
        code: A stable machine-readable code; the message never holds key material.
    """

    code: ClassVar[str] = "bad_intro"


class MalformedIntroError(IntroError):
    """Wrong size or version, bad padding, or content that does not decode."""

    code = "malformed_intro"


class UnreadableIntroError(IntroError):
    """Not sealed for us, or altered on the way: authentication failed."""

    code = "unreadable_intro"


class ForgedIntroError(IntroError):
    """Sealed for us, but the sender's signature does not hold."""

    code = "forged_intro"


class ContactRequest(
    msgspec.Struct,
    frozen=True,
    rename={"sender": "k", "name": "n", "sent_at": "at", "signature": "sig"},
):
    """What a sealed request carries.

    Attributes:
        sender: The sender's raw 32-byte Ed25519 public key.
        name: The display name the sender chose (may be empty).
        sent_at: The sender's wall clock in ms since the Unix epoch.
        signature: The sender's signature (see :func:`_signed_bytes`).
    """

    sender: bytes
    name: str
    sent_at: int
    signature: bytes = b""

    def __post_init__(self) -> None:
        if len(self.sender) != _KEY_SIZE:
            raise ValueError("the sender key must be 32 bytes")
        if len(self.name) > MAX_DISPLAY_NAME:
            raise ValueError(f"a display name is at most {MAX_DISPLAY_NAME} characters")
        if not 0 <= self.sent_at < _MAX_U63:
            raise ValueError("sent_at must be in [0, 2**63)")
        if self.signature and len(self.signature) != _SIGNATURE_SIZE:
            raise ValueError("the signature must be 64 bytes")


_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(ContactRequest)
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


def _signed_bytes(request: ContactRequest, ephemeral: bytes, recipient: bytes) -> bytes:
    name = request.name.encode("utf-8")
    return (
        _SIGN_LABEL
        + ephemeral
        + recipient
        + request.sender
        + request.sent_at.to_bytes(8, "big")
        + len(name).to_bytes(2, "big")
        + name
    )


def _key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    info = _KEY_INFO + ephemeral + recipient
    return HKDF(algorithm=SHA256(), length=_KEY_SIZE, salt=_KEY_SALT, info=info).derive(shared)


def _aad(ephemeral: bytes, recipient: bytes) -> bytes:
    return _AAD_LABEL + bytes([INTRO_VERSION]) + ephemeral + recipient


def _pad(request: ContactRequest) -> bytes:
    body = _ENCODER.encode(request)
    if len(body) > _PADDED_SIZE - 2:  # cannot happen for a valid request
        raise ValueError("contact request does not fit the padded size")
    return len(body).to_bytes(2, "big") + body + bytes(_PADDED_SIZE - 2 - len(body))


def _unpad(plain: bytes) -> ContactRequest:
    size = int.from_bytes(plain[:2], "big")
    if size > _PADDED_SIZE - 2 or any(plain[2 + size :]):
        raise MalformedIntroError("contact request has a bad length or padding")
    try:
        return _DECODER.decode(plain[2 : 2 + size])
    except _UNDECODABLE:
        raise MalformedIntroError("contact request does not decode") from None
    except ValueError as exc:  # __post_init__ of a decoded request
        raise MalformedIntroError(f"contact request is invalid: {exc}") from None


def seal_intro(
    sender: IdentityKeys,
    recipient_public: bytes,
    name: str,
    sent_at: int,
    *,
    ephemeral_private: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """Seal a signed contact request from ``sender`` that only ``recipient_public`` can open.

    Raises:
        ValueError: the recipient key is unusable or the name is too long.
    """
    eph_private = ephemeral_private or os.urandom(_KEY_SIZE)
    eph_public = bytes(bindings.crypto_scalarmult_base(eph_private))
    try:
        recipient_x = x25519_public_from_ed25519(recipient_public)
        shared = bytes(bindings.crypto_scalarmult(eph_private, recipient_x))
    except (CryptoError, ValueError, TypeError):
        raise ValueError("the recipient key is not a usable identity key") from None
    unsigned = ContactRequest(sender.public_key, name, sent_at)
    signature = sender.sign(_signed_bytes(unsigned, eph_public, recipient_public))
    signed = ContactRequest(sender.public_key, name, sent_at, signature)
    nonce = nonce or os.urandom(_NONCE_SIZE)
    aead = ChaCha20Poly1305(_key(shared, eph_public, recipient_public))
    sealed = aead.encrypt(nonce, _pad(signed), _aad(eph_public, recipient_public))
    return bytes([INTRO_VERSION]) + eph_public + nonce + sealed


def _shared(recipient: IdentityKeys, eph_public: bytes) -> bytes:
    try:
        return bytes(bindings.crypto_scalarmult(recipient.x25519_private(), eph_public))
    except CryptoError:
        raise UnreadableIntroError("contact request has an unusable ephemeral key") from None


def open_intro(recipient: IdentityKeys, payload: bytes) -> ContactRequest:
    """Open a sealed contact request addressed to ``recipient`` and check its signature.

    Raises:
        MalformedIntroError, UnreadableIntroError, ForgedIntroError.
    """
    if len(payload) != INTRO_SIZE or payload[0] != INTRO_VERSION:
        raise MalformedIntroError(f"not a version {INTRO_VERSION} contact request")
    eph_public = payload[1 : 1 + _KEY_SIZE]
    nonce = payload[1 + _KEY_SIZE : _HEADER_SIZE]
    own = recipient.public_key
    aead = ChaCha20Poly1305(_key(_shared(recipient, eph_public), eph_public, own))
    try:
        plain = aead.decrypt(nonce, payload[_HEADER_SIZE:], _aad(eph_public, own))
    except InvalidTag:
        raise UnreadableIntroError("contact request was not sealed for us or was altered") from None
    request = _unpad(plain)
    message = _signed_bytes(request, eph_public, own)
    if request.sender == own or not verify_signature(request.sender, request.signature, message):
        raise ForgedIntroError("contact request does not carry its sender's signature")
    return request
