"""``SecureChannel``: the session handshake, then encrypted frames (pure).

The driver sits between a data channel and the chat logic. It never does
I/O: it takes frames received from the peer and returns typed events,
including the frames to send. On every newly opened channel it runs a
fresh :class:`kith.sessions.Handshake` over the first frames (the side that
made the WebRTC offer calls :meth:`SecureChannel.start`; if both do, the
handshake's tie-break resolves it), then encrypts and decrypts with the
resulting :class:`kith.sessions.Session`. The DTLS of the channel is a
second, independent layer: a relay that swapped DTLS fingerprints would
still have to pass the handshake, which is bound to both identity keys.

Once established, each side announces its :class:`~kith.p2p.framing.Feature`
set; :meth:`SecureChannel.seal_all` seals a burst of messages into
``BUNDLE`` frames (:mod:`kith.p2p.bundle`) only to a peer that announced
them, and one frame per message to any other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from kith.p2p.bundle import pack_bundle, plan_bundles, unpack_bundle
from kith.p2p.errors import FrameTooLarge, LinkStateError
from kith.p2p.framing import (
    MAX_PAYLOAD_SIZE,
    CloseReason,
    Feature,
    FrameType,
    close_frame,
    features_frame,
    keepalive_frame,
    pack_frame,
    unpack_frame,
)
from kith.sessions import (
    Handshake,
    HandshakeComplete,
    HandshakeState,
    PeerError,
    Session,
    UnexpectedFrame,
)
from kith.sessions import SendFrame as HandshakeSend
from kith.sessions.kdf import RandomSource, default_random
from kith_proto.keys import IdentityKeys

__all__ = [
    "MAX_MESSAGE_SIZE",
    "MessageReceived",
    "PeerClosing",
    "SecureChannel",
    "SecureEvent",
    "SecureState",
    "SendData",
    "SessionEstablished",
]

OWN_FEATURES: Final = Feature.BUNDLE
"""What this side announces once the session is established."""
SESSION_OVERHEAD: Final = 1024
MAX_MESSAGE_SIZE: Final = MAX_PAYLOAD_SIZE - SESSION_OVERHEAD
"""Largest plaintext one encrypted frame carries (fits one data-channel message)."""


class SecureState(enum.Enum):
    """Where the channel's session stands."""

    HANDSHAKING = "handshaking"
    ESTABLISHED = "established"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SendData:
    """Send these bytes (one frame) on the data channel."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SessionEstablished:
    """The handshake completed; persist ``session.to_bytes()`` for this contact."""

    session: Session


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """One decrypted message from the peer (persist the session before acting on it)."""

    plaintext: bytes

    def __repr__(self) -> str:
        return f"MessageReceived(<{len(self.plaintext)} bytes>)"


@dataclass(frozen=True, slots=True)
class PeerClosing:
    """The peer announced it is closing the channel."""

    reason: CloseReason


SecureEvent = SendData | SessionEstablished | MessageReceived | PeerClosing


class SecureChannel:
    """End-to-end encryption over one data channel to one contact.

    Args:
        own: our identity keys.
        peer_public: the contact's Ed25519 public key (the accepted one).
        random: source of randomness for ephemeral and ratchet keys.
    """

    def __init__(
        self, own: IdentityKeys, peer_public: bytes, *, random: RandomSource = default_random
    ) -> None:
        self._handshake = Handshake(own, peer_public, random=random)
        self._session: Session | None = None
        self._failed = False
        self._peer_features = Feature.NONE

    def __repr__(self) -> str:
        return f"SecureChannel(state={self.state.value})"

    @property
    def state(self) -> SecureState:
        """The current state."""
        if self._failed:
            return SecureState.FAILED
        if self._session is not None:
            return SecureState.ESTABLISHED
        return SecureState.HANDSHAKING

    @property
    def session(self) -> Session | None:
        """The established session (None until the handshake completes)."""
        return self._session

    @property
    def peer_features(self) -> Feature:
        """What the peer announced it understands (nothing until it did)."""
        return self._peer_features

    def start(self) -> SendData:
        """Begin the handshake as initiator; returns the frame to send.

        Raises:
            HandshakeStateError: already started or answering.
        """
        return SendData(pack_frame(FrameType.HANDSHAKE, self._handshake.start()))

    def seal(self, plaintext: bytes) -> SendData:
        """Encrypt one message into a frame for the peer.

        Raises:
            LinkStateError: the session is not established.
            FrameTooLarge: the message exceeds :data:`MAX_MESSAGE_SIZE`.
        """
        session = self.check_sealable(plaintext)
        return SendData(pack_frame(FrameType.SESSION, session.encrypt(plaintext)))

    def check_sealable(self, plaintext: bytes) -> Session:
        """Raise what :meth:`seal` would for ``plaintext``; return the session.

        Raises:
            LinkStateError: the session is not established.
            FrameTooLarge: the message exceeds :data:`MAX_MESSAGE_SIZE`.
        """
        if self._session is None or self._failed:
            raise LinkStateError("the end-to-end session is not established")
        if len(plaintext) > MAX_MESSAGE_SIZE:
            raise FrameTooLarge(f"a message is limited to {MAX_MESSAGE_SIZE} bytes")
        return self._session

    def seal_all(self, plaintexts: list[bytes]) -> list[SendData]:
        """Encrypt messages, in order, into as few frames as the peer allows:
        ``BUNDLE`` frames if it announced them, else one frame per message.

        Raises:
            LinkStateError: the session is not established.
            FrameTooLarge: a message exceeds :data:`MAX_MESSAGE_SIZE`.
        """
        if not Feature.BUNDLE & self._peer_features:
            return [self.seal(plaintext) for plaintext in plaintexts]
        frames = []
        for run in plan_bundles(plaintexts):
            if len(run) == 1:
                frames.append(self.seal(run[0]))
                continue
            sealed = self.check_sealable(run[0]).encrypt(pack_bundle(run))
            frames.append(SendData(pack_frame(FrameType.BUNDLE, sealed)))
        return frames

    def keepalive(self) -> SendData:
        """A keepalive frame (keeps an idle link open while a chat is on screen)."""
        return SendData(keepalive_frame())

    def closing(self, reason: CloseReason = CloseReason.NORMAL) -> SendData:
        """A close frame telling the peer why we are closing."""
        return SendData(close_frame(reason))

    def receive(self, data: bytes) -> list[SecureEvent]:
        """Feed one frame from the peer; returns what happened and what to send.

        Raises:
            MalformedFrame: the frame does not parse (the channel goes on).
            UnexpectedFrame: a frame of the wrong kind for the state.
            PeerError: a refused handshake frame (the channel is then FAILED:
                close it) or a message that does not decrypt (the session is
                unchanged and goes on). ``IdentityKeyChanged`` means the
                contact's key changed: warn the user and send nothing.
        """
        frame = unpack_frame(data)
        if frame.type is FrameType.HANDSHAKE:
            return self._on_handshake(frame.payload)
        if frame.type is FrameType.SESSION:
            return [MessageReceived(self._decrypt(frame.payload))]
        if frame.type is FrameType.BUNDLE:
            return [MessageReceived(m) for m in unpack_bundle(self._decrypt(frame.payload))]
        if frame.type is FrameType.FEATURES:
            self._peer_features = frame.features
            return []
        if frame.type is FrameType.CLOSE:
            return [PeerClosing(frame.close_reason)]
        return []

    def _on_handshake(self, payload: bytes) -> list[SecureEvent]:
        if self._session is not None or self._failed:
            raise UnexpectedFrame("a handshake frame arrived outside the handshake")
        try:
            events = self._handshake.receive(payload)
        except PeerError:
            self._failed = self._handshake.state is HandshakeState.FAILED
            raise
        converted = [self._convert(event) for event in events]
        if self._session is not None:  # just established: announce what we understand
            converted.append(SendData(features_frame(OWN_FEATURES)))
        return converted

    def _convert(self, event: HandshakeSend | HandshakeComplete) -> SecureEvent:
        if isinstance(event, HandshakeSend):
            return SendData(pack_frame(FrameType.HANDSHAKE, event.data))
        self._session = event.session
        return SessionEstablished(event.session)

    def _decrypt(self, payload: bytes) -> bytes:
        if self._session is None or self._failed:
            raise UnexpectedFrame("an encrypted message arrived before the handshake completed")
        return self._session.decrypt(payload)
