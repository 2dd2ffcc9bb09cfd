"""Values and events of the presence manager.

Time everywhere in ``kith.presence`` is wall-clock seconds since the Unix
epoch as a float (what ``time.time()`` returns), the unit the store keeps
``last_seen`` in. Records on the wire carry milliseconds (``sent_at``, ``seq``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final, TypeAlias

from kith.terminal_text import first_unsafe
from kith_proto.envelope import MAX_STATUS_TEXT_BYTES, fit_utf8
from kith_proto.pair import MAX_STATUS_TEXT, PresenceRecord, PresenceStatus

__all__ = [
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
    "PresenceStatus",
    "PublishPresence",
    "RetractPresence",
    "check_status_text",
    "fit_stored_status_text",
]

Recipients: TypeAlias = tuple[str, ...] | None
"""Contact IDs an event is for; None means every contact."""

ALL_CONTACTS: Final[Recipients] = None


class OwnStatus(enum.StrEnum):
    """The status the user chooses (persisted as the ``user_status`` setting)."""

    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"
    INVISIBLE = "invisible"


class ConnectionState(enum.StrEnum):
    """Whether the node is connected to the signaling server."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class InvalidStatusTextError(ValueError):
    """The status text is too long, not valid Unicode, or carries control characters.

    Attributes:
        code: ``"invalid_status_text"``.
    """

    code: Final = "invalid_status_text"


def check_status_text(text: str) -> str:
    """Return ``text`` if it can be a status text.

    Raises:
        InvalidStatusTextError: Longer than 140 characters or 200 bytes of
            UTF-8 (every presence envelope has one size, sized for that), not
            encodable, or holding a control character (NUL, BEL, ESC, a line
            break...) or a bidi control (such as U+202E), which could forge
            what others read.
    """
    if len(text) > MAX_STATUS_TEXT:
        raise InvalidStatusTextError(f"status text is longer than {MAX_STATUS_TEXT} characters")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidStatusTextError("status text is not valid Unicode") from None
    if size > MAX_STATUS_TEXT_BYTES:
        raise InvalidStatusTextError(
            f"status text is {size} bytes of UTF-8, at most {MAX_STATUS_TEXT_BYTES} fit "
            f"(140 Latin, 100 Cyrillic or Greek, 66 CJK characters or 50 emoji)"
        )
    unsafe = first_unsafe(text)
    if unsafe is not None:
        raise InvalidStatusTextError(
            f"status text must not contain control characters or bidi controls "
            f"(found U+{ord(unsafe):04X})"
        )
    return text


def fit_stored_status_text(text: str) -> str:
    """A status text restored from settings, cut at a character boundary to
    the byte limit if it was stored before that limit existed."""
    return fit_utf8(text, MAX_STATUS_TEXT_BYTES)


@dataclass(frozen=True, slots=True)
class ContactPresence:
    """What we currently know of one contact.

    Attributes:
        status: What the contact shows us (offline when unknown).
        text: Their status text (empty when offline).
        last_seen: When we last knew them online (epoch seconds), or None.
        waiting: Whether their record says messages wait for us there.
    """

    status: PresenceStatus = PresenceStatus.OFFLINE
    text: str = ""
    last_seen: float | None = None
    waiting: bool = False


# -- events -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnStatusChanged:
    """The user's own status, text or effective status changed.

    Attributes:
        status: The chosen status (persist it, with ``text``).
        text: The status text.
        effective: What contacts see (away under auto-away, offline when invisible).
        auto_away: Whether auto-away is what makes ``effective`` away.
    """

    status: OwnStatus
    text: str
    effective: PresenceStatus
    auto_away: bool


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The connection to the signaling server came up or went down."""

    state: ConnectionState


@dataclass(frozen=True, slots=True)
class PublishPresence:
    """Seal ``record`` for each recipient and publish it on their presence topic.

    Attributes:
        record: The same record for every recipient.
        recipients: Contact IDs, or None for every contact.
    """

    record: PresenceRecord
    recipients: Recipients = ALL_CONTACTS


@dataclass(frozen=True, slots=True)
class RetractPresence:
    """Stop being visible to the recipients.

    Seal and publish ``record`` (status offline, no text) on each recipient's
    presence topic, then retract those topics so the server keeps no retained
    value and announces "gone": exactly what a clean shutdown looks like.

    Attributes:
        record: The final offline record.
        recipients: Contact IDs, or None for every contact.
    """

    record: PresenceRecord
    recipients: Recipients = ALL_CONTACTS


@dataclass(frozen=True, slots=True)
class ContactPresenceChanged:
    """A contact's status or text changed (store it, show it).

    Attributes:
        contact_id: The contact's Kith ID.
        status: What they show now.
        text: Their status text (empty when offline).
        last_seen: When we last knew them online (epoch seconds).
    """

    contact_id: str
    status: PresenceStatus
    text: str
    last_seen: float


@dataclass(frozen=True, slots=True)
class MessagesWaiting:
    """A contact's record started or stopped saying that messages wait for us.

    Only the contact can set it (``has_messages`` in the sealed record); it
    falls back to False when they go offline. An invisible user's node
    connects to fetch them.

    Attributes:
        contact_id: The contact's Kith ID.
        waiting: Whether messages wait for us at that contact.
    """

    contact_id: str
    waiting: bool


PresenceEvent: TypeAlias = (
    OwnStatusChanged
    | ConnectionChanged
    | PublishPresence
    | RetractPresence
    | ContactPresenceChanged
    | MessagesWaiting
)
"""Every event the presence manager returns."""
