"""Typed errors of the session layer.

Two families, so a caller can tell whose fault a failure is:

* :class:`LocalSessionError` — we misused the session layer or our own stored
  state is bad (a bug or a damaged database). Nothing the peer sent.
* :class:`PeerError` — the peer (or someone on the path pretending to be it)
  sent something we refuse: a malformed frame, a forged handshake, a replay,
  a tampered message. The node logs it and goes on; the session is unchanged.

Messages never contain key material. :class:`IdentityKeyChanged` carries the
new *public* identity key as an attribute (so the node can show the new safety
number) but never in its message.
"""

from __future__ import annotations

from kith.errors import KithError

__all__ = [
    "CorruptSessionState",
    "DecryptionFailed",
    "DuplicateMessage",
    "HandshakeFailed",
    "HandshakeStateError",
    "IdentityKeyChanged",
    "LocalSessionError",
    "MalformedFrame",
    "MessageTooLarge",
    "PeerError",
    "SessionError",
    "SessionMismatch",
    "TooManySkippedMessages",
    "UnexpectedFrame",
    "UnsupportedStateVersion",
    "UnsupportedVersion",
]


class SessionError(KithError):
    """Base of every error raised by :mod:`kith.sessions`."""

    code = "session"


class LocalSessionError(SessionError):
    """Our side is at fault: misuse of the API or damaged stored state."""

    code = "session_local"


class HandshakeStateError(LocalSessionError):
    """A handshake method was called in a state that does not allow it."""

    code = "handshake_state"


class CorruptSessionState(LocalSessionError):
    """Stored session bytes could not be decoded."""

    code = "session_state_corrupt"


class UnsupportedStateVersion(LocalSessionError):
    """Stored session bytes were written by a newer (or unknown) version."""

    code = "session_state_version"


class MessageTooLarge(LocalSessionError):
    """A plaintext is larger than one frame may carry, or the counter is exhausted."""

    code = "message_too_large"


class PeerError(SessionError):
    """The peer (or the path to it) sent something we refuse."""

    code = "session_peer"


class MalformedFrame(PeerError):
    """The bytes are not a session frame of this protocol."""

    code = "malformed_frame"


class UnsupportedVersion(PeerError):
    """The peer speaks a handshake version we do not know."""

    code = "unsupported_version"


class UnexpectedFrame(PeerError):
    """A well-formed frame arrived that the current state does not accept."""

    code = "unexpected_frame"


class HandshakeFailed(PeerError):
    """The handshake could not be authenticated (bad signature or confirmation).

    This is what a man in the middle who injects its own ephemeral keys gets.
    """

    code = "handshake_failed"


class IdentityKeyChanged(PeerError):
    """The peer proved an identity key other than the one expected for the contact.

    The node warns the user (the safety number changed) and sends nothing
    until the user accepts the new key.

    Attributes:
        received_identity: the new Ed25519 public key the peer presented.
    """

    code = "identity_key_changed"

    def __init__(self, received_identity: bytes) -> None:
        super().__init__("the contact's identity key changed: verify the new safety number")
        self.received_identity = received_identity


class SessionMismatch(PeerError):
    """A message belongs to another session (the peer lost or replaced its state)."""

    code = "session_mismatch"


class DecryptionFailed(PeerError):
    """A message failed authentication: its ciphertext or header was tampered with."""

    code = "decryption_failed"


class DuplicateMessage(PeerError):
    """A message was already received (a replay), or is too old to decrypt."""

    code = "duplicate_message"


class TooManySkippedMessages(PeerError):
    """A message would need more skipped keys than the bounds allow."""

    code = "too_many_skipped"
