"""Presence in the node: own status, auto-away, contacts' live status (pure).

``PresenceManager`` is the state machine; it takes ``now`` (wall-clock epoch
seconds, a float) and returns typed events. The crypto that carries records
between contacts is in ``kith_proto.pair``.
"""

from kith.presence.coalescer import COALESCE_WINDOW
from kith.presence.manager import PresenceManager
from kith.presence.model import (
    MAX_STATUS_TEXT,
    MAX_STATUS_TEXT_BYTES,
    ConnectionChanged,
    ConnectionState,
    ContactPresence,
    ContactPresenceChanged,
    InvalidStatusTextError,
    MessagesWaiting,
    OwnStatus,
    OwnStatusChanged,
    PresenceEvent,
    PresenceStatus,
    PublishPresence,
    RetractPresence,
    check_status_text,
)
from kith_proto.pair import PresenceRecord

__all__ = [
    "COALESCE_WINDOW",
    "MAX_STATUS_TEXT",
    "MAX_STATUS_TEXT_BYTES",
    "ConnectionChanged",
    "ConnectionState",
    "ContactPresence",
    "ContactPresenceChanged",
    "InvalidStatusTextError",
    "MessagesWaiting",
    "OwnStatus",
    "OwnStatusChanged",
    "PresenceEvent",
    "PresenceManager",
    "PresenceRecord",
    "PresenceStatus",
    "PublishPresence",
    "RetractPresence",
    "check_status_text",
]
