"""End-to-end sessions between two contacts (pure: no I/O, clocks or awaits).

A :class:`Handshake` authenticates both identity keys and agrees on keys; it
yields a :class:`Session`, a Double Ratchet that turns plaintexts into frames
and back. Sessions serialise with :meth:`Session.to_bytes` for the encrypted
database. See ``docs/sessions.md``.
"""

from kith.sessions.errors import (
    CorruptSessionState,
    DecryptionFailed,
    DuplicateMessage,
    HandshakeFailed,
    HandshakeStateError,
    IdentityKeyChanged,
    LocalSessionError,
    MalformedFrame,
    MessageTooLarge,
    PeerError,
    SessionError,
    SessionMismatch,
    TooManySkippedMessages,
    UnexpectedFrame,
    UnsupportedStateVersion,
    UnsupportedVersion,
)
from kith.sessions.frames import Finish, Frame, Init, Message, Response, decode_frame
from kith.sessions.handshake import (
    Handshake,
    HandshakeComplete,
    HandshakeEvent,
    HandshakeState,
    SendFrame,
)
from kith.sessions.ratchet import MAX_PLAINTEXT_SIZE, MAX_SKIP, MAX_SKIPPED_KEYS
from kith.sessions.roles import Role, wins_tie_break
from kith.sessions.session import Session
from kith.sessions.state import STATE_VERSION

__all__ = [
    "MAX_PLAINTEXT_SIZE",
    "MAX_SKIP",
    "MAX_SKIPPED_KEYS",
    "STATE_VERSION",
    "CorruptSessionState",
    "DecryptionFailed",
    "DuplicateMessage",
    "Finish",
    "Frame",
    "Handshake",
    "HandshakeComplete",
    "HandshakeEvent",
    "HandshakeFailed",
    "HandshakeState",
    "HandshakeStateError",
    "IdentityKeyChanged",
    "Init",
    "LocalSessionError",
    "MalformedFrame",
    "Message",
    "MessageTooLarge",
    "PeerError",
    "Response",
    "Role",
    "SendFrame",
    "Session",
    "SessionError",
    "SessionMismatch",
    "TooManySkippedMessages",
    "UnexpectedFrame",
    "UnsupportedStateVersion",
    "UnsupportedVersion",
    "decode_frame",
    "wins_tie_break",
]
