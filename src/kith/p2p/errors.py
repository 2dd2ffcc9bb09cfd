"""Errors of the peer-to-peer transport: ours versus the peer's (or the path's).

Messages are for people and never contain key material, SDP or payload bytes;
``code`` is the stable identifier for programs.
"""

from __future__ import annotations

from kith.errors import KithError

__all__ = [
    "ChannelNotOpen",
    "FrameTooLarge",
    "LinkStateError",
    "LocalP2PError",
    "MalformedFrame",
    "MalformedSignal",
    "P2PError",
    "PeerP2PError",
    "ReplayedSignal",
    "StaleSignal",
    "TamperedSignal",
    "WrongDirectionSignal",
]


class P2PError(KithError):
    """Base of every error of :mod:`kith.p2p`."""

    code = "p2p_error"


class LocalP2PError(P2PError):
    """Our own mistake: a call in the wrong state or a value we may not send."""

    code = "p2p_local_error"


class FrameTooLarge(LocalP2PError):
    """We tried to send a frame beyond the data-channel size limit."""

    code = "frame_too_large"


class LinkStateError(LocalP2PError):
    """A link or channel operation that its current state does not allow."""

    code = "link_state"


class ChannelNotOpen(LocalP2PError):
    """Sending on a channel that is not (or no longer) open."""

    code = "channel_not_open"


class PeerP2PError(P2PError):
    """The peer (or whoever sits on the path) sent something we refuse."""

    code = "p2p_peer_error"


class MalformedFrame(PeerP2PError):
    """A data-channel frame with a bad header, length or type, or oversized."""

    code = "malformed_frame"


class MalformedSignal(PeerP2PError):
    """A sealed signal of the wrong size or version, or whose content does not decode."""

    code = "malformed_signal"


class WrongDirectionSignal(PeerP2PError):
    """A signal sealed for another direction or pair (e.g. our own, reflected)."""

    code = "wrong_direction"


class TamperedSignal(PeerP2PError):
    """A signal that fails authentication: altered or forged on the way."""

    code = "tampered_signal"


class ReplayedSignal(PeerP2PError):
    """An authentic signal whose sequence number is not newer than the last one."""

    code = "replayed_signal"


class StaleSignal(PeerP2PError):
    """An authentic signal sent too long ago (a replay across restarts)."""

    code = "stale_signal"
