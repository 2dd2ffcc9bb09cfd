"""What the signaling client tells the node: its state and typed events.

The core's events (:mod:`kith_proto.client_core`) are converted into these at
the adapter's boundary, so the node depends on this module only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "Connected",
    "ConnectionState",
    "Disconnected",
    "IntroMessage",
    "PresenceGone",
    "PresenceValue",
    "RelayMessage",
    "ServerProblem",
    "SignalingEvent",
]


class ConnectionState(enum.Enum):
    """The client's connection to the server, as the node sees it."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


@dataclass(frozen=True)
class Connected:
    """Authenticated; subscriptions and publications are being re-applied.

    Attributes:
        url: The server's URL (one of several when the node knows a cluster).
    """

    url: str = ""


@dataclass(frozen=True)
class Disconnected:
    """The connection is gone (or a connection attempt failed).

    Attributes:
        reason: A short code: ``closed`` (we closed), ``replaced`` (this
            identity logged in elsewhere), ``shutting_down``,
            ``heartbeat_timeout``, ``connect_failed``, ``connection_lost``,
            ``auth_failed``, ``protocol_violation`` or a server ``bye`` code.
        retry_in: Seconds until the next attempt, or ``None`` when the client
            stopped and will not retry by itself.
        detail: Human-readable detail (never secrets or payloads).
    """

    reason: str
    retry_in: float | None
    detail: str = ""


@dataclass(frozen=True)
class PresenceValue:
    """A subscribed topic holds ``payload`` (new, or retained on subscribe)."""

    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class PresenceGone:
    """A subscribed topic's publisher retracted it or went offline."""

    topic: bytes


@dataclass(frozen=True)
class RelayMessage:
    """A relayed payload arrived on a subscribed topic."""

    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class IntroMessage:
    """A contact request arrived on a subscribed intro topic."""

    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class ServerProblem:
    """The server reported an error nobody waits for (e.g. ``rate_limited``).

    Attributes:
        code: The server's error code (``kith_proto.wire.ErrorCode``) or
            ``payload_too_large`` / ``protocol_violation`` found locally.
        message: Human-readable detail.
    """

    code: str
    message: str


SignalingEvent: TypeAlias = (
    Connected
    | Disconnected
    | PresenceValue
    | PresenceGone
    | RelayMessage
    | IntroMessage
    | ServerProblem
)
