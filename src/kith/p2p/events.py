"""Typed events a :class:`~kith.p2p.link.PeerLink` reports (aiortc's string
events are converted at the adapter's boundary)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ChannelClosed",
    "ChannelOpen",
    "CloseCause",
    "ConnectFailed",
    "FailureReason",
    "FrameReceived",
    "LinkEvent",
]


class FailureReason(enum.StrEnum):
    """Why a connection attempt did not open a channel."""

    ICE_FAILED = "ice_failed"
    """No candidate pair worked (typical behind a symmetric NAT without TURN)."""
    DTLS_FAILED = "dtls_failed"
    """ICE worked but the DTLS handshake did not (wrong fingerprint or certificate)."""
    TIMEOUT = "timeout"
    """No open channel within the connect timeout (e.g. the peer never answered)."""
    BAD_SIGNAL = "bad_signal"
    """The peer's authenticated offer or answer is not a usable description."""
    NO_RELAY = "no_relay"
    """``relay_only`` is on and the signaling server offers no TURN relay."""


class CloseCause(enum.StrEnum):
    """Why an open channel closed."""

    LOCAL = "local"
    """We called ``close()``."""
    IDLE = "idle"
    """Nothing was sent or received for the idle timeout."""
    REMOTE = "remote"
    """The peer closed the channel."""
    CONNECTION_LOST = "connection_lost"
    """The peer connection failed after it had opened."""
    REPLACED = "replaced"
    """The peer made a new offer; the old connection gave way to the new one."""


@dataclass(frozen=True, slots=True)
class ChannelOpen:
    """The data channel is open; ``offerer`` says whether we made the offer."""

    offerer: bool


@dataclass(frozen=True, slots=True)
class FrameReceived:
    """One data-channel message from the peer."""

    data: bytes

    def __repr__(self) -> str:
        return f"FrameReceived(<{len(self.data)} bytes>)"


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    """The open channel closed."""

    reason: CloseCause


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """A connection attempt ended without an open channel."""

    reason: FailureReason


LinkEvent = ChannelOpen | FrameReceived | ChannelClosed | ConnectFailed
