"""Sender Keys: each member's symmetric sender chain (pure).

Every member seals its group messages with its own chain. A chain is a chain
key that moves one step per message (``HMAC-SHA256(ck, 0x02)``) and gives that
message's key (``HMAC-SHA256(ck, 0x01)``, expanded by HKDF into a
ChaCha20-Poly1305 key and nonce), plus an Ed25519 signing key made for the
chain: the member gives the chain key and the signing public key to every other
member over their pairwise session (:class:`SenderKey`), and signs each message
with the private half, so a member who can decrypt a chain still cannot forge
a message as its owner. A receiver keeps the keys of skipped messages, a bounded
number, so messages that arrive out of order still open once each.

When someone leaves or is removed, every remaining member starts a new chain
(:meth:`OwnChain.new`) and hands it to the remaining members only: the removed
member holds old chains, which no one sends on again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field, replace
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kith.groups.errors import NotAMember, SkippedTooFar, TamperedMessage
from kith_proto.keys import verify_signature

__all__ = [
    "CHAIN_ID_SIZE",
    "MAX_SKIP",
    "MAX_SKIPPED_KEYS",
    "GroupMessage",
    "OwnChain",
    "PeerChain",
    "SenderKey",
    "decode_group_message",
    "decode_sender_key",
    "encode_group_message",
    "encode_sender_key",
]

CHAIN_ID_SIZE: Final = 8
KEY_SIZE: Final = 32
MAX_SKIP: Final = 1000
"""Most messages a received message may be ahead of its chain."""
MAX_SKIPPED_KEYS: Final = 2000
"""Most skipped message keys kept per chain (the oldest go first)."""
_MESSAGE_INFO: Final = b"kith group message v1"
_SIGNING_CONTEXT: Final = b"kith group message signature v1\x00"


class SenderKey(msgspec.Struct, frozen=True, array_like=True):
    """A member's chain as it hands it to another member (over their pairwise session).

    A secret: it opens every later message of the chain."""

    group_id: bytes
    sender_id: str
    chain_id: bytes
    chain_key: bytes
    iteration: int
    signing_public: bytes

    def __repr__(self) -> str:
        return f"SenderKey(sender_id={self.sender_id!r}, chain_id={self.chain_id.hex()})"


class GroupMessage(msgspec.Struct, frozen=True, array_like=True):
    """One sealed group message: the header is authenticated data, the whole is signed."""

    group_id: bytes
    sender_id: str
    chain_id: bytes
    iteration: int
    ciphertext: bytes
    signature: bytes = b""

    def header(self) -> bytes:
        return msgspec.msgpack.encode(
            (self.group_id, self.sender_id, self.chain_id, self.iteration)
        )

    def signed_bytes(self) -> bytes:
        return _SIGNING_CONTEXT + self.header() + self.ciphertext


def encode_sender_key(key: SenderKey) -> bytes:
    return msgspec.msgpack.encode(key)


def decode_sender_key(data: bytes) -> SenderKey:
    try:
        key = msgspec.msgpack.decode(data, type=SenderKey)
    except msgspec.DecodeError:
        raise TamperedMessage("a sender key that cannot be decoded") from None
    if (
        len(key.chain_id) != CHAIN_ID_SIZE
        or len(key.chain_key) != KEY_SIZE
        or len(key.signing_public) != KEY_SIZE
        or key.iteration < 0
    ):
        raise TamperedMessage("a malformed sender key")
    return key


def encode_group_message(message: GroupMessage) -> bytes:
    return msgspec.msgpack.encode(message)


def decode_group_message(data: bytes) -> GroupMessage:
    try:
        message = msgspec.msgpack.decode(data, type=GroupMessage)
    except msgspec.DecodeError:
        raise TamperedMessage("a group message that cannot be decoded") from None
    if len(message.chain_id) != CHAIN_ID_SIZE or message.iteration < 0:
        raise TamperedMessage("a malformed group message")
    return message


def _step(chain_key: bytes) -> tuple[bytes, bytes]:
    """(message key material, next chain key)."""
    return (
        hmac.digest(chain_key, b"\x01", hashlib.sha256),
        hmac.digest(chain_key, b"\x02", hashlib.sha256),
    )


def _aead(material: bytes) -> tuple[ChaCha20Poly1305, bytes]:
    okm = HKDF(hashes.SHA256(), 44, salt=None, info=_MESSAGE_INFO).derive(material)
    return ChaCha20Poly1305(okm[:32]), okm[32:]


@dataclass(frozen=True)
class OwnChain:
    """Our own sender chain in one group: ``chain_key`` seals message ``iteration`` next."""

    group_id: bytes
    sender_id: str
    chain_id: bytes
    chain_key: bytes = field(repr=False)
    iteration: int
    signing_seed: bytes = field(repr=False)

    @classmethod
    def new(cls, group_id: bytes, sender_id: str) -> OwnChain:
        """A fresh random chain (at creation, joining, and after every removal)."""
        return cls(
            group_id,
            sender_id,
            os.urandom(CHAIN_ID_SIZE),
            os.urandom(KEY_SIZE),
            0,
            os.urandom(KEY_SIZE),
        )

    @property
    def signing_public(self) -> bytes:
        key = Ed25519PrivateKey.from_private_bytes(self.signing_seed)
        return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sender_key(self) -> SenderKey:
        """The chain from its next message on, to hand to a member."""
        return SenderKey(
            self.group_id,
            self.sender_id,
            self.chain_id,
            self.chain_key,
            self.iteration,
            self.signing_public,
        )

    def seal(self, plaintext: bytes) -> tuple[OwnChain, GroupMessage]:
        """Seal ``plaintext`` as the next message; return the advanced chain with it."""
        material, next_key = _step(self.chain_key)
        unsigned = GroupMessage(self.group_id, self.sender_id, self.chain_id, self.iteration, b"")
        aead, nonce = _aead(material)
        sealed = msgspec.structs.replace(
            unsigned, ciphertext=aead.encrypt(nonce, plaintext, unsigned.header())
        )
        signer = Ed25519PrivateKey.from_private_bytes(self.signing_seed)
        message = msgspec.structs.replace(sealed, signature=signer.sign(sealed.signed_bytes()))
        return replace(self, chain_key=next_key, iteration=self.iteration + 1), message


@dataclass(frozen=True)
class PeerChain:
    """Another member's chain as we hold it: ``chain_key`` opens message ``iteration``;
    ``skipped`` holds the key material of earlier messages not received yet."""

    group_id: bytes
    sender_id: str
    chain_id: bytes
    chain_key: bytes = field(repr=False)
    iteration: int
    signing_public: bytes
    skipped: tuple[tuple[int, bytes], ...] = field(default=(), repr=False)

    @classmethod
    def from_sender_key(cls, key: SenderKey) -> PeerChain:
        return cls(
            key.group_id,
            key.sender_id,
            key.chain_id,
            key.chain_key,
            key.iteration,
            key.signing_public,
        )

    def open(self, message: GroupMessage) -> tuple[PeerChain, bytes]:
        """Check and decrypt ``message``; return the chain as it stands after it.

        Nothing changes when the message is rejected.

        Raises:
            NotAMember: the message is not on this chain.
            TamperedMessage: its signature or tag does not verify.
            SkippedTooFar: too far ahead, or its key was used (a replay) or dropped.
        """
        if (
            message.group_id != self.group_id
            or message.sender_id != self.sender_id
            or message.chain_id != self.chain_id
        ):
            raise NotAMember("a group message on a sender chain we do not hold")
        if not verify_signature(self.signing_public, message.signature, message.signed_bytes()):
            raise TamperedMessage("a group message whose signature does not verify")
        skipped = dict(self.skipped)
        chain_key, iteration = self.chain_key, self.iteration
        if message.iteration < iteration:
            material = skipped.pop(message.iteration, None)
            if material is None:
                raise SkippedTooFar(
                    f"group message {message.iteration} was opened already or its key dropped"
                )
        else:
            if message.iteration - iteration > MAX_SKIP:
                raise SkippedTooFar(
                    f"a group message {message.iteration - iteration} messages ahead of its"
                    f" chain (at most {MAX_SKIP})"
                )
            while iteration < message.iteration:
                material, chain_key = _step(chain_key)
                skipped[iteration] = material
                iteration += 1
            material, chain_key = _step(chain_key)
            iteration += 1
        aead, nonce = _aead(material)
        try:
            plaintext = aead.decrypt(nonce, message.ciphertext, message.header())
        except InvalidTag:
            raise TamperedMessage(
                "a group message whose authentication tag does not verify"
            ) from None
        kept = sorted(skipped.items())[-MAX_SKIPPED_KEYS:]
        return replace(
            self, chain_key=chain_key, iteration=iteration, skipped=tuple(kept)
        ), plaintext
