"""The Double Ratchet (pure): per-message keys with forward secrecy and healing.

:class:`RatchetState` holds one side's ratchet. :func:`ratchet_encrypt` and
:func:`ratchet_decrypt` advance it. Decryption mutates the state it is given,
so callers pass a copy and keep it only when decryption succeeds
(:class:`~kith.sessions.session.Session` does this): a tampered message then
leaves the session exactly as it was.

Skipped message keys (for out-of-order delivery) are bounded: at most
:data:`MAX_SKIP` per chain per message, and :data:`MAX_SKIPPED_KEYS` stored in
total (the oldest are dropped first).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from kith.sessions.errors import (
    DecryptionFailed,
    DuplicateMessage,
    MessageTooLarge,
    TooManySkippedMessages,
)
from kith.sessions.frames import MAX_COUNTER, Message, pack_header
from kith.sessions.kdf import (
    KeyPair,
    RandomSource,
    chain_step,
    message_key_material,
    root_step,
)

__all__ = [
    "MAX_PLAINTEXT_SIZE",
    "MAX_SKIP",
    "MAX_SKIPPED_KEYS",
    "RatchetState",
    "initiator_ratchet",
    "ratchet_decrypt",
    "ratchet_encrypt",
    "responder_ratchet",
]

MAX_SKIP: Final = 1000
MAX_SKIPPED_KEYS: Final = 2000
MAX_RETIRED_KEYS: Final = 64
MAX_PLAINTEXT_SIZE: Final = 256 * 1024

SkippedKey = tuple[bytes, int]


@dataclass
class RatchetState:
    """One side of a Double Ratchet. Secret fields never appear in ``repr``.

    Attributes:
        sending: our current ratchet key pair.
        remote: the peer's current ratchet public key (None before it sent one).
        root_key: the root chain key.
        send_chain: the sending chain key.
        recv_chain: the receiving chain key (None before the peer's first message).
        send_count: messages sent in the current sending chain.
        recv_count: messages received in the current receiving chain.
        previous_count: length of our previous sending chain.
        skipped: message keys of messages not yet received, oldest first.
        retired: the peer's earlier ratchet public keys, newest last (bounded).
    """

    sending: KeyPair = field(repr=False)
    remote: bytes | None
    root_key: bytes = field(repr=False)
    send_chain: bytes = field(repr=False)
    recv_chain: bytes | None = field(repr=False)
    send_count: int = 0
    recv_count: int = 0
    previous_count: int = 0
    skipped: dict[SkippedKey, bytes] = field(default_factory=dict, repr=False)
    retired: list[bytes] = field(default_factory=list, repr=False)

    def copy(self) -> RatchetState:
        """An independent copy (containers copied; bytes are immutable)."""
        return replace(self, skipped=dict(self.skipped), retired=list(self.retired))


def initiator_ratchet(
    root_key: bytes, responder_key: bytes, responder_chain: bytes, random: RandomSource
) -> RatchetState:
    """The initiator's ratchet: it steps at once against the responder's ephemeral."""
    sending = KeyPair.generate(random)
    root, send_chain = root_step(root_key, sending.exchange(responder_key))
    return RatchetState(
        sending=sending,
        remote=responder_key,
        root_key=root,
        send_chain=send_chain,
        recv_chain=responder_chain,
    )


def responder_ratchet(root_key: bytes, ephemeral: KeyPair, responder_chain: bytes) -> RatchetState:
    """The responder's ratchet: its ephemeral is its first ratchet key."""
    return RatchetState(
        sending=ephemeral,
        remote=None,
        root_key=root_key,
        send_chain=responder_chain,
        recv_chain=None,
    )


def ratchet_encrypt(
    state: RatchetState, session_id: bytes, associated: bytes, plaintext: bytes
) -> Message:
    """Encrypt ``plaintext`` as the next message of the sending chain."""
    if len(plaintext) > MAX_PLAINTEXT_SIZE:
        raise MessageTooLarge(f"a message may carry at most {MAX_PLAINTEXT_SIZE} bytes")
    if state.send_count >= MAX_COUNTER:
        raise MessageTooLarge("the sending chain is exhausted; start a new session")
    state.send_chain, message_key = chain_step(state.send_chain)
    key, number = state.sending.public, state.send_count
    state.send_count += 1
    header = pack_header(key, state.previous_count, number)
    ciphertext = _seal(message_key, associated + header, plaintext)
    return Message(session_id, key, state.previous_count, number, ciphertext)


def ratchet_decrypt(
    state: RatchetState, associated: bytes, message: Message, random: RandomSource
) -> bytes:
    """Decrypt ``message``, advancing ``state`` (pass a copy; see module doc).

    Raises:
        DuplicateMessage: already received, or too old to decrypt.
        TooManySkippedMessages: the message lies beyond the skip bounds.
        DecryptionFailed: authentication failed (tampered ciphertext or header).
    """
    ad = associated + message.header_bytes()
    stored = state.skipped.pop((message.ratchet_key, message.number), None)
    if stored is not None:
        return _open(stored, ad, message.ciphertext)
    if message.ratchet_key == state.remote:
        if message.number < state.recv_count:
            raise DuplicateMessage("message already received")
    elif message.ratchet_key in state.retired:
        raise DuplicateMessage("message already received or too old")
    else:
        _skip_until(state, message.previous_count)
        _step(state, message.ratchet_key, random)
    _skip_until(state, message.number)
    return _open(_next_receive_key(state), ad, message.ciphertext)


def _next_receive_key(state: RatchetState) -> bytes:
    assert state.recv_chain is not None  # set by _step or at initialisation
    state.recv_chain, message_key = chain_step(state.recv_chain)
    state.recv_count += 1
    return message_key


def _skip_until(state: RatchetState, until: int) -> None:
    if state.recv_chain is None or state.remote is None:
        return
    if until - state.recv_count > MAX_SKIP:
        raise TooManySkippedMessages(f"a message may skip at most {MAX_SKIP} in one chain")
    while state.recv_count < until:
        number = state.recv_count
        state.skipped[(state.remote, number)] = _next_receive_key(state)
    _evict_oldest(state)


def _evict_oldest(state: RatchetState) -> None:
    excess = len(state.skipped) - MAX_SKIPPED_KEYS
    if excess > 0:
        for key in list(state.skipped)[:excess]:
            del state.skipped[key]


def _step(state: RatchetState, remote: bytes, random: RandomSource) -> None:
    if state.remote is not None:
        state.retired = [*state.retired, state.remote][-MAX_RETIRED_KEYS:]
    state.previous_count, state.send_count, state.recv_count = state.send_count, 0, 0
    state.remote = remote
    state.root_key, state.recv_chain = root_step(state.root_key, _dh(state.sending, remote))
    state.sending = KeyPair.generate(random)
    state.root_key, state.send_chain = root_step(state.root_key, _dh(state.sending, remote))


def _dh(pair: KeyPair, remote: bytes) -> bytes:
    try:
        return pair.exchange(remote)
    except ValueError as exc:
        raise DecryptionFailed("invalid ratchet key") from exc


def _seal(message_key: bytes, associated: bytes, plaintext: bytes) -> bytes:
    key, nonce = message_key_material(message_key)
    return ChaCha20Poly1305(key).encrypt(nonce, plaintext, associated)


def _open(message_key: bytes, associated: bytes, ciphertext: bytes) -> bytes:
    key, nonce = message_key_material(message_key)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, associated)
    except InvalidTag as exc:
        raise DecryptionFailed("message failed authentication") from exc
