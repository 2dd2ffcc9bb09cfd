"""An established end-to-end session with one contact (pure).

A :class:`Session` comes out of a completed
:class:`~kith.sessions.handshake.Handshake` or out of
:meth:`Session.from_bytes`. It turns plaintexts into frames and frames back
into plaintexts with the Double Ratchet. A frame that fails in any way raises a
typed error and leaves the session exactly as it was, so the conversation goes
on.
"""

from __future__ import annotations

from kith.sessions.errors import SessionMismatch, UnexpectedFrame
from kith.sessions.frames import Message, decode_frame, encode_frame
from kith.sessions.kdf import RandomSource, default_random, session_id
from kith.sessions.ratchet import RatchetState, ratchet_decrypt, ratchet_encrypt
from kith.sessions.roles import Role
from kith.sessions.state import (
    STATE_VERSION,
    RatchetRecord,
    SessionRecord,
    decode_record,
    encode_record,
)

__all__ = ["Session"]


class Session:
    """A Double Ratchet session bound to both identity keys.

    Args:
        role: the handshake role this side took.
        local_identity: our Ed25519 public key.
        peer_identity: the contact's Ed25519 public key, proven in the handshake.
        transcript: the handshake transcript hash (authenticated with every message).
        ratchet: the ratchet state.
        random: source of randomness for new ratchet keys.
    """

    def __init__(
        self,
        *,
        role: Role,
        local_identity: bytes,
        peer_identity: bytes,
        transcript: bytes,
        ratchet: RatchetState,
        random: RandomSource = default_random,
    ) -> None:
        self._role = role
        self._local = local_identity
        self._peer = peer_identity
        self._transcript = transcript
        self._id = session_id(transcript)
        self._ratchet = ratchet
        self._random = random

    @property
    def role(self) -> Role:
        """The handshake role this side took."""
        return self._role

    @property
    def local_identity(self) -> bytes:
        """Our Ed25519 public key."""
        return self._local

    @property
    def peer_identity(self) -> bytes:
        """The contact's Ed25519 public key, as proven in the handshake."""
        return self._peer

    @property
    def session_id(self) -> bytes:
        """Public 16-byte name of this session, carried in every message frame."""
        return self._id

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` into one frame for the peer.

        Raises:
            MessageTooLarge: the plaintext exceeds ``MAX_PLAINTEXT_SIZE``.
        """
        message = ratchet_encrypt(self._ratchet, self._id, self._transcript, plaintext)
        return encode_frame(message)

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt one frame from the peer.

        On any error the session state is unchanged.

        Raises:
            MalformedFrame: not a session frame.
            UnexpectedFrame: a handshake frame, not a message.
            SessionMismatch: a message of another session.
            DuplicateMessage: a replayed or duplicated message.
            TooManySkippedMessages: beyond the skipped-key bounds.
            DecryptionFailed: tampered ciphertext or header.
        """
        frame = decode_frame(data)
        if not isinstance(frame, Message):
            raise UnexpectedFrame("a handshake frame arrived on an established session")
        return self.decrypt_message(frame)

    def decrypt_message(self, message: Message) -> bytes:
        """Decrypt an already decoded message frame (see :meth:`decrypt`)."""
        if message.session_id != self._id:
            raise SessionMismatch("the message belongs to another session")
        work = self._ratchet.copy()
        plaintext = ratchet_decrypt(work, self._transcript, message, self._random)
        self._ratchet = work
        return plaintext

    def to_bytes(self) -> bytes:
        """Serialise the whole session (contains secrets: store it encrypted)."""
        record = SessionRecord(
            version=STATE_VERSION,
            role=self._role,
            local_identity=self._local,
            peer_identity=self._peer,
            transcript=self._transcript,
            ratchet=RatchetRecord.from_state(self._ratchet),
        )
        return encode_record(record)

    @classmethod
    def from_bytes(cls, data: bytes, *, random: RandomSource = default_random) -> Session:
        """Restore a session saved by :meth:`to_bytes`.

        Raises:
            UnsupportedStateVersion: saved by an unknown version.
            CorruptSessionState: the bytes are damaged.
        """
        record = decode_record(data)
        return cls(
            role=record.role,
            local_identity=record.local_identity,
            peer_identity=record.peer_identity,
            transcript=record.transcript,
            ratchet=record.ratchet.to_state(),
            random=random,
        )

    def __repr__(self) -> str:
        return (
            f"Session(role={self._role.value}, session_id={self._id.hex()}, "
            f"sent={self._ratchet.send_count}, received={self._ratchet.recv_count})"
        )
