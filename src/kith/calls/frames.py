"""Call frames: the plaintext of one session message that sets up a call (pure).

Call frames travel inside the pair's end-to-end encrypted session, like chat
and file frames, so the signaling server can neither read nor swap an offer,
an answer (and the DTLS fingerprints they carry) or a candidate. They start
with :data:`CALL_FRAME_MARK` (``0xC1 0xCA``): ``0xC1`` is never the first byte
of msgpack, and a file frame follows it with a msgpack map, never ``0xCA``;
the rest is a msgpack map tagged by ``t``:

| frame | from | meaning |
|---|---|---|
| ``Ring`` | caller | call ``id`` (audio, or video if ``video``) is ringing |
| ``Answer`` | callee | the callee accepted: media set-up may start |
| ``Decline`` | callee | refused (``reason``: declined; busy or unavailable: never rang) |
| ``Hangup`` | either | the call ends (``reason``: hangup, cancelled, timeout, failed) |
| ``Sdp`` | either | the page's session description (``kind``: offer or answer) |
| ``Ice`` | either | one ICE candidate of the page (JSON of ``RTCIceCandidateInit``) |
| ``Missed`` | caller | we called at ``sent_at`` and could not reach you (on the next channel) |
"""

from __future__ import annotations

import re
from typing import Final, Literal, TypeAlias

import msgspec

from kith.calls.errors import MalformedCallFrame

__all__ = [
    "CALL_FRAME_MARK",
    "MAX_CANDIDATE",
    "MAX_SDP",
    "Answer",
    "CallFrame",
    "Decline",
    "Hangup",
    "Ice",
    "Missed",
    "Ring",
    "Sdp",
    "check_call_id",
    "decode_call_frame",
    "encode_call_frame",
    "is_call_frame",
]

CALL_FRAME_MARK: Final = b"\xc1\xca"
"""First two bytes of every call frame."""
MAX_SDP: Final = 32_768
"""Longest session description, in characters."""
MAX_CANDIDATE: Final = 2_048
"""Longest ICE candidate (its JSON), in characters."""
_ID: Final = re.compile(r"[0-9a-f]{32}")

DeclineReason: TypeAlias = Literal["declined", "busy", "unavailable"]
HangupReason: TypeAlias = Literal["hangup", "cancelled", "timeout", "failed"]


class Ring(msgspec.Struct, frozen=True, tag_field="t", tag="ring"):
    """The caller rings: call ``id``, with video if ``video``."""

    id: str
    video: bool
    sent_at: int


class Answer(msgspec.Struct, frozen=True, tag_field="t", tag="answer"):
    """The callee accepted call ``id``."""

    id: str


class Decline(msgspec.Struct, frozen=True, tag_field="t", tag="decline"):
    """The callee refused call ``id``."""

    id: str
    reason: DeclineReason = "declined"


class Hangup(msgspec.Struct, frozen=True, tag_field="t", tag="hangup"):
    """Either side ended call ``id``."""

    id: str
    reason: HangupReason = "hangup"


class Sdp(msgspec.Struct, frozen=True, tag_field="t", tag="sdp"):
    """A session description of the sender's page."""

    id: str
    kind: Literal["offer", "answer"]
    sdp: str


class Ice(msgspec.Struct, frozen=True, tag_field="t", tag="ice"):
    """One ICE candidate of the sender's page (the JSON the page gave)."""

    id: str
    candidate: str


class Missed(msgspec.Struct, frozen=True, tag_field="t", tag="missed"):
    """The caller tried call ``id`` at ``sent_at`` while we were not reachable."""

    id: str
    video: bool
    sent_at: int


CallFrame: TypeAlias = Ring | Answer | Decline | Hangup | Sdp | Ice | Missed

_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(CallFrame)


def is_call_frame(data: bytes) -> bool:
    """Whether a decrypted frame is a call frame (by its mark only)."""
    return data.startswith(CALL_FRAME_MARK)


def check_call_id(call_id: str) -> str:
    """``call_id`` if it is 32 lowercase hex digits.

    Raises:
        MalformedCallFrame: it is not.
    """
    if not _ID.fullmatch(call_id):
        raise MalformedCallFrame("the call ID is not 32 hex digits")
    return call_id


def encode_call_frame(frame: CallFrame) -> bytes:
    """The plaintext of ``frame`` (mark + msgpack)."""
    return CALL_FRAME_MARK + _ENCODER.encode(frame)


def decode_call_frame(data: bytes) -> CallFrame:
    """Decode and check a call frame.

    Raises:
        MalformedCallFrame: no mark, undecodable, a bad ID, or over a limit.
    """
    if not is_call_frame(data):
        raise MalformedCallFrame("not a call frame")
    try:
        frame = _DECODER.decode(data[len(CALL_FRAME_MARK) :])
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise MalformedCallFrame("the call frame does not decode") from None
    check_call_id(frame.id)
    if isinstance(frame, Sdp) and len(frame.sdp) > MAX_SDP:
        raise MalformedCallFrame("the session description is too long")
    if isinstance(frame, Ice) and len(frame.candidate) > MAX_CANDIDATE:
        raise MalformedCallFrame("the ICE candidate is too long")
    return frame
