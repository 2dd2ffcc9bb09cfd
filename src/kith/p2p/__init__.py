"""Peer-to-peer transport: WebRTC data channels between contacts.

* :mod:`~kith.p2p.framing` — frames on the data channel (pure).
* :mod:`~kith.p2p.signals` — offers and answers sealed under the pair key (pure).
* :mod:`~kith.p2p.tiebreak` — who stays offerer when offers cross (pure).
* :mod:`~kith.p2p.secure` — the session handshake and encryption over a channel (pure).
* :mod:`~kith.p2p.ice` — STUN, TURN relays, relay-only and the path a connection took.
* :mod:`~kith.p2p.link` — ``PeerLink``, the thin aiortc adapter, one per contact.

See ``docs/p2p.md``.
"""

from kith.p2p.errors import (
    ChannelNotOpen,
    FrameTooLarge,
    LinkStateError,
    LocalP2PError,
    MalformedFrame,
    MalformedSignal,
    P2PError,
    PeerP2PError,
    ReplayedSignal,
    StaleSignal,
    TamperedSignal,
    WrongDirectionSignal,
)
from kith.p2p.events import (
    ChannelClosed,
    ChannelOpen,
    CloseCause,
    ConnectFailed,
    FailureReason,
    FrameReceived,
    LinkEvent,
)
from kith.p2p.framing import (
    MAX_FRAME_SIZE,
    ChannelFrame,
    CloseReason,
    FrameType,
    pack_frame,
    unpack_frame,
)
from kith.p2p.ice import NO_TURN, IcePath, TurnCredentials, TurnSource
from kith.p2p.link import DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, LinkState, PeerLink
from kith.p2p.secure import (
    MAX_MESSAGE_SIZE,
    MessageReceived,
    PeerClosing,
    SecureChannel,
    SecureEvent,
    SecureState,
    SendData,
    SessionEstablished,
)
from kith.p2p.signals import Signal, SignalBox, SignalKind
from kith.p2p.tiebreak import GlareAction, keeps_offer, on_crossed_offer

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "MAX_FRAME_SIZE",
    "MAX_MESSAGE_SIZE",
    "NO_TURN",
    "ChannelClosed",
    "ChannelFrame",
    "ChannelNotOpen",
    "ChannelOpen",
    "CloseCause",
    "CloseReason",
    "ConnectFailed",
    "FailureReason",
    "FrameReceived",
    "FrameTooLarge",
    "FrameType",
    "GlareAction",
    "IcePath",
    "LinkEvent",
    "LinkState",
    "LinkStateError",
    "LocalP2PError",
    "MalformedFrame",
    "MalformedSignal",
    "MessageReceived",
    "P2PError",
    "PeerClosing",
    "PeerLink",
    "PeerP2PError",
    "ReplayedSignal",
    "SecureChannel",
    "SecureEvent",
    "SecureState",
    "SendData",
    "SessionEstablished",
    "Signal",
    "SignalBox",
    "SignalKind",
    "StaleSignal",
    "TamperedSignal",
    "TurnCredentials",
    "TurnSource",
    "WrongDirectionSignal",
    "keeps_offer",
    "on_crossed_offer",
    "pack_frame",
    "unpack_frame",
]
