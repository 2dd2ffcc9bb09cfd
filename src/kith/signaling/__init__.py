"""The node's signaling client: a thin asyncio edge around the protocol core."""

from kith.signaling.backoff import BackoffPolicy
from kith.signaling.client import EventStream, SignalingClient
from kith.signaling.errors import (
    IntroRefused,
    MailboxRefused,
    NotConnected,
    PayloadTooLarge,
    PeerOffline,
    RelayRefused,
    ReplyTimeout,
    RequestRefused,
    SignalingError,
)
from kith.signaling.events import (
    Connected,
    ConnectionState,
    Disconnected,
    IntroMessage,
    PresenceGone,
    PresenceValue,
    RelayMessage,
    ServerProblem,
    SignalingEvent,
)
from kith.signaling.ops import MailboxBatch

__all__ = [
    "BackoffPolicy",
    "Connected",
    "ConnectionState",
    "Disconnected",
    "EventStream",
    "IntroMessage",
    "IntroRefused",
    "MailboxBatch",
    "MailboxRefused",
    "NotConnected",
    "PayloadTooLarge",
    "PeerOffline",
    "PresenceGone",
    "PresenceValue",
    "RelayMessage",
    "RelayRefused",
    "ReplyTimeout",
    "RequestRefused",
    "ServerProblem",
    "SignalingClient",
    "SignalingError",
    "SignalingEvent",
]
