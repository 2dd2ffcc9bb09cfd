"""Outgoing presence: what is published, coalescing, sequence numbers.

The coalescer knows what the server currently holds for us (nothing, or one
visible record on every contact's topic) and turns the *desired* value into
publish or retract events. Changes are not sent at once: the first change
opens a window of ``window`` seconds and the flush at its end sends only the
latest value, so a status flipped ten times within the window is published
once, and not at all if it ends where it started.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, TypeAlias

from kith.presence.model import PresenceStatus, PublishPresence, RetractPresence
from kith_proto.pair import PresenceRecord

__all__ = ["COALESCE_WINDOW", "Coalescer", "Desired", "Publication", "next_seq"]

COALESCE_WINDOW: Final = 0.1
"""Default coalescing window in seconds."""

Desired: TypeAlias = tuple[PresenceStatus, str] | None
"""What contacts should see: (status, text), or None to be invisible."""

Outgoing: TypeAlias = PublishPresence | RetractPresence


class Publication(enum.Enum):
    """What the server holds for us on our contacts' presence topics."""

    RETRACTED = enum.auto()
    PUBLISHED = enum.auto()


class _Action(enum.Enum):
    NOTHING = enum.auto()
    PUBLISH_IF_CHANGED = enum.auto()
    PUBLISH = enum.auto()
    RETRACT = enum.auto()


_TRANSITIONS: Final[Mapping[tuple[Publication, bool], tuple[_Action, Publication]]] = {
    (Publication.RETRACTED, True): (_Action.PUBLISH, Publication.PUBLISHED),
    (Publication.RETRACTED, False): (_Action.NOTHING, Publication.RETRACTED),
    (Publication.PUBLISHED, True): (_Action.PUBLISH_IF_CHANGED, Publication.PUBLISHED),
    (Publication.PUBLISHED, False): (_Action.RETRACT, Publication.RETRACTED),
}
"""(publication, want visible) -> (action, next publication)."""


def next_seq(last_seq: int, now: float) -> int:
    """A sequence number above ``last_seq`` and at least ``now`` in milliseconds.

    Tying it to the wall clock keeps it increasing across restarts even when
    the last value was not saved.
    """
    return max(last_seq + 1, int(now * 1000))


class Coalescer:
    """Publication state, coalescing window and sequence numbers.

    Args:
        window: Coalescing window in seconds.
        last_seq: The last sequence number used (persisted), or 0.
    """

    def __init__(self, window: float = COALESCE_WINDOW, last_seq: int = 0) -> None:
        self.window = window
        self.last_seq = last_seq
        self.deadline: float | None = None
        self.publication = Publication.RETRACTED
        self.current: PresenceRecord | None = None

    def request(self, now: float) -> None:
        """Note that the desired value changed; open a window if none is open."""
        if self.deadline is None:
            self.deadline = now + self.window

    def due(self, now: float) -> bool:
        """Whether an open window has ended."""
        return self.deadline is not None and now >= self.deadline

    def flush(self, desired: Desired, now: float) -> list[Outgoing]:
        """Close any window and bring the server in line with ``desired``."""
        self.deadline = None
        action, self.publication = _TRANSITIONS[(self.publication, desired is not None)]
        if desired is None:
            return self._retract(now) if action is _Action.RETRACT else []
        if action is _Action.PUBLISH_IF_CHANGED and self._holds(desired):
            return []
        self.current = self._record(*desired, now)
        return [PublishPresence(self.current)]

    def forget(self) -> None:
        """The server dropped everything of ours (we disconnected)."""
        self.deadline = None
        self.publication = Publication.RETRACTED
        self.current = None

    def retract_from(self, contact_id: str, now: float) -> list[Outgoing]:
        """Stop publishing to one contact (removed), if we publish at all."""
        if self.publication is Publication.RETRACTED:
            return []
        return [RetractPresence(self._offline(now), (contact_id,))]

    def _holds(self, desired: tuple[PresenceStatus, str]) -> bool:
        current = self.current
        return current is not None and (current.status, current.text) == desired

    def _retract(self, now: float) -> list[Outgoing]:
        self.current = None
        return [RetractPresence(self._offline(now))]

    def _offline(self, now: float) -> PresenceRecord:
        return self._record(PresenceStatus.OFFLINE, "", now)

    def _record(self, status: PresenceStatus, text: str, now: float) -> PresenceRecord:
        self.last_seq = next_seq(self.last_seq, now)
        return PresenceRecord(status, text, self.last_seq, max(0, int(now * 1000)))
