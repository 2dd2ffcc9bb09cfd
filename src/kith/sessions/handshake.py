"""The authenticated key agreement that opens a session (pure state machine).

Three frames over the data channel (both peers are online)::

    initiator                                   responder
    Init(I, R, e_i, sig_I(init))        ──►
                                        ◄──     Response(R, e_r, sig_R(th), confirm_R)
    Finish(confirm_I)                   ──►

``th`` is the transcript hash over the version label, both identity keys and
both ephemerals. The session keys come from HKDF over four X25519 outputs
(identity-identity, initiator identity-responder ephemeral, initiator
ephemeral-responder identity, ephemeral-ephemeral) salted with ``th``. A party
that does not hold the identity key it claims cannot sign, cannot compute the
keys and cannot confirm them; a relay that swaps ephemerals breaks a
signature. Either way the handshake fails with a typed error.

If both sides send ``Init`` at once, the side with the lower identity key stays
initiator (:func:`~kith.sessions.roles.wins_tie_break`) and the other answers.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from typing import Final

from kith.sessions.errors import (
    HandshakeFailed,
    HandshakeStateError,
    IdentityKeyChanged,
    PeerError,
    UnexpectedFrame,
    UnsupportedVersion,
)
from kith.sessions.frames import (
    HANDSHAKE_VERSION,
    Finish,
    Frame,
    Init,
    Response,
    decode_frame,
    encode_frame,
)
from kith.sessions.kdf import (
    HandshakeKeys,
    KeyPair,
    RandomSource,
    confirm_tag,
    default_random,
    dh,
    handshake_keys,
    transcript_hash,
)
from kith.sessions.ratchet import RatchetState, initiator_ratchet, responder_ratchet
from kith.sessions.roles import Role, wins_tie_break
from kith.sessions.session import Session
from kith_proto.keys import IdentityKeys, verify_signature, x25519_public_from_ed25519

__all__ = [
    "Handshake",
    "HandshakeComplete",
    "HandshakeEvent",
    "HandshakeState",
    "SendFrame",
]

LABEL_INIT: Final = b"kith-session-v1/init"
LABEL_RESPONSE: Final = b"kith-session-v1/response"
LABEL_CONFIRM_INITIATOR: Final = b"kith-session-v1/confirm-initiator"
LABEL_CONFIRM_RESPONDER: Final = b"kith-session-v1/confirm-responder"


class HandshakeState(enum.Enum):
    """Where a handshake stands."""

    IDLE = "idle"
    INIT_SENT = "init_sent"
    RESPONSE_SENT = "response_sent"
    ESTABLISHED = "established"
    FAILED = "failed"


class _Input(enum.Enum):
    START = "start"
    INIT = "init"
    INIT_IGNORED = "init_ignored"
    RESPONSE = "response"
    FINISH = "finish"


_S = HandshakeState
_TRANSITIONS: Final[dict[tuple[HandshakeState, _Input], HandshakeState]] = {
    (_S.IDLE, _Input.START): _S.INIT_SENT,
    (_S.IDLE, _Input.INIT): _S.RESPONSE_SENT,
    (_S.INIT_SENT, _Input.INIT_IGNORED): _S.INIT_SENT,
    (_S.INIT_SENT, _Input.INIT): _S.RESPONSE_SENT,
    (_S.INIT_SENT, _Input.RESPONSE): _S.ESTABLISHED,
    (_S.RESPONSE_SENT, _Input.FINISH): _S.ESTABLISHED,
}
"""Every allowed move. Any peer error moves a non-terminal state to FAILED."""


@dataclass(frozen=True)
class SendFrame:
    """Send these bytes to the peer on the data channel."""

    data: bytes


@dataclass(frozen=True)
class HandshakeComplete:
    """The handshake succeeded: ``session`` is ready to encrypt and decrypt."""

    session: Session


HandshakeEvent = SendFrame | HandshakeComplete


@dataclass(frozen=True)
class _Agreed:
    """What the responder keeps between sending Response and receiving Finish."""

    ephemeral: KeyPair
    transcript: bytes
    keys: HandshakeKeys


def init_signed_bytes(initiator: bytes, responder: bytes, ephemeral: bytes) -> bytes:
    """The bytes an ``Init`` signature covers."""
    return LABEL_INIT + initiator + responder + ephemeral


class Handshake:
    """One handshake with one contact.

    Args:
        identity: our identity key pair.
        peer_identity: the Ed25519 public key we expect for this contact.
        random: source of randomness for ephemeral keys.
    """

    def __init__(
        self,
        identity: IdentityKeys,
        peer_identity: bytes,
        *,
        random: RandomSource = default_random,
    ) -> None:
        if len(peer_identity) != 32 or peer_identity == identity.public_key:
            raise ValueError("peer identity must be another 32-byte public key")
        self._identity = identity
        self._own = identity.public_key
        self._peer = peer_identity
        self._random = random
        self._state = HandshakeState.IDLE
        self._role: Role | None = None
        self._ephemeral: KeyPair | None = None
        self._agreed: _Agreed | None = None

    @property
    def state(self) -> HandshakeState:
        """The current state."""
        return self._state

    @property
    def role(self) -> Role | None:
        """Our role once decided (None while idle)."""
        return self._role

    def start(self) -> bytes:
        """Begin as initiator: returns the ``Init`` frame to send.

        Raises:
            HandshakeStateError: the handshake already started or answered.
        """
        self._state = self._target(_Input.START, local=True)
        self._role = Role.INITIATOR
        self._ephemeral = KeyPair.generate(self._random)
        signature = self._identity.sign(
            init_signed_bytes(self._own, self._peer, self._ephemeral.public)
        )
        init = Init(HANDSHAKE_VERSION, self._own, self._peer, self._ephemeral.public, signature)
        return encode_frame(init)

    def receive(self, data: bytes) -> tuple[HandshakeEvent, ...]:
        """Feed one frame from the peer; returns what to do next.

        Raises:
            HandshakeStateError: the handshake already ended.
            PeerError: the frame is refused; the handshake is then FAILED.
        """
        if self._state in (HandshakeState.ESTABLISHED, HandshakeState.FAILED):
            raise HandshakeStateError(f"the handshake is {self._state.value}")
        try:
            return self._dispatch(decode_frame(data))
        except PeerError:
            self._fail()
            raise

    def _dispatch(self, frame: Frame) -> tuple[HandshakeEvent, ...]:
        if isinstance(frame, Init):
            return self._on_init(frame)
        if isinstance(frame, Response):
            return self._on_response(frame)
        if isinstance(frame, Finish):
            return self._on_finish(frame)
        raise UnexpectedFrame("a message frame arrived before the handshake completed")

    def _on_init(self, init: Init) -> tuple[HandshakeEvent, ...]:
        if self._state is HandshakeState.INIT_SENT and wins_tie_break(self._own, self._peer):
            self._state = self._target(_Input.INIT_IGNORED)
            return ()
        target = self._target(_Input.INIT)
        _check_version(init.version)
        signed = init_signed_bytes(init.initiator, init.responder, init.ephemeral)
        self._check_identity(init.initiator, init.signature, signed)
        if init.responder != self._own:
            raise HandshakeFailed("the handshake was addressed to someone else")
        response = self._respond(init)
        self._state = target
        return (SendFrame(encode_frame(response)),)

    def _respond(self, init: Init) -> Response:
        self._role, self._ephemeral = Role.RESPONDER, KeyPair.generate(self._random)
        transcript = transcript_hash(self._peer, self._own, init.ephemeral, self._ephemeral.public)
        keys = self._agree(init.ephemeral, transcript)
        self._agreed = _Agreed(self._ephemeral, transcript, keys)
        signature = self._identity.sign(LABEL_RESPONSE + transcript)
        confirm = confirm_tag(keys.responder_confirm, LABEL_CONFIRM_RESPONDER, transcript)
        return Response(HANDSHAKE_VERSION, self._own, self._ephemeral.public, signature, confirm)

    def _on_response(self, response: Response) -> tuple[HandshakeEvent, ...]:
        target = self._target(_Input.RESPONSE)
        own_eph = self._require_ephemeral()
        _check_version(response.version)
        transcript = transcript_hash(
            self._own, response.responder, own_eph.public, response.ephemeral
        )
        self._check_identity(response.responder, response.signature, LABEL_RESPONSE + transcript)
        keys = self._agree(response.ephemeral, transcript)
        expected = confirm_tag(keys.responder_confirm, LABEL_CONFIRM_RESPONDER, transcript)
        _check_confirm(response.confirm, expected)
        self._state = target
        finish = Finish(
            HANDSHAKE_VERSION,
            confirm_tag(keys.initiator_confirm, LABEL_CONFIRM_INITIATOR, transcript),
        )
        ratchet = initiator_ratchet(
            keys.root_key, response.ephemeral, keys.responder_chain, self._random
        )
        session = self._session(Role.INITIATOR, transcript, ratchet)
        return (SendFrame(encode_frame(finish)), HandshakeComplete(session))

    def _on_finish(self, finish: Finish) -> tuple[HandshakeEvent, ...]:
        target = self._target(_Input.FINISH)
        agreed = self._agreed
        assert agreed is not None  # set whenever the state is RESPONSE_SENT
        _check_version(finish.version)
        expected = confirm_tag(
            agreed.keys.initiator_confirm, LABEL_CONFIRM_INITIATOR, agreed.transcript
        )
        _check_confirm(finish.confirm, expected)
        self._state = target
        keys = agreed.keys
        ratchet = responder_ratchet(keys.root_key, agreed.ephemeral, keys.responder_chain)
        return (HandshakeComplete(self._session(Role.RESPONDER, agreed.transcript, ratchet)),)

    def _session(self, role: Role, transcript: bytes, ratchet: RatchetState) -> Session:
        self._ephemeral, self._agreed = None, None
        return Session(
            role=role,
            local_identity=self._own,
            peer_identity=self._peer,
            transcript=transcript,
            ratchet=ratchet,
            random=self._random,
        )

    def _check_identity(self, claimed: bytes, signature: bytes, signed: bytes) -> None:
        if not verify_signature(claimed, signature, signed):
            raise HandshakeFailed("the handshake signature is invalid")
        if claimed != self._peer:
            raise IdentityKeyChanged(claimed)

    def _agree(self, peer_ephemeral: bytes, transcript: bytes) -> HandshakeKeys:
        own_eph = self._require_ephemeral()
        try:
            mine_id_their_eph = dh(self._identity.x25519_private(), peer_ephemeral)
            mine_eph_their_id = own_eph.exchange(x25519_public_from_ed25519(self._peer))
            both_eph = own_eph.exchange(peer_ephemeral)
            both_id = self._identity.agree(self._peer)
        except (ValueError, RuntimeError) as exc:
            raise HandshakeFailed("the peer's ephemeral key is invalid") from exc
        if self._role is Role.INITIATOR:
            mixed = both_id + mine_id_their_eph + mine_eph_their_id + both_eph
        else:
            mixed = both_id + mine_eph_their_id + mine_id_their_eph + both_eph
        return handshake_keys(mixed, transcript)

    def _require_ephemeral(self) -> KeyPair:
        assert self._ephemeral is not None  # set in INIT_SENT and RESPONSE_SENT
        return self._ephemeral

    def _target(self, event: _Input, *, local: bool = False) -> HandshakeState:
        target = _TRANSITIONS.get((self._state, event))
        if target is None:
            message = f"{event.value} is not allowed in state {self._state.value}"
            raise HandshakeStateError(message) if local else UnexpectedFrame(message)
        return target

    def _fail(self) -> None:
        self._state = HandshakeState.FAILED
        self._ephemeral, self._agreed = None, None

    def __repr__(self) -> str:
        role = self._role.value if self._role else None
        return f"Handshake(state={self._state.value}, role={role})"


def _check_version(version: int) -> None:
    if version != HANDSHAKE_VERSION:
        raise UnsupportedVersion(f"handshake version {version} is not supported")


def _check_confirm(received: bytes, expected: bytes) -> None:
    if not hmac.compare_digest(received, expected):
        raise HandshakeFailed("key confirmation failed")
