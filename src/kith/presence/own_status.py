"""The user's own status: chosen status, auto-away, effective status.

A small state machine. The state is what the user chose, except that
``AUTO_AWAY`` marks "chose online, idle too long". Inputs are the user's
choice, ``IDLE`` (the auto-away deadline passed), ``ACTIVITY`` and
``AUTO_AWAY_OFF`` (auto-away was disabled). Busy and
invisible are never overridden: only ``ONLINE`` reacts to ``IDLE``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from kith.presence.model import OwnStatus, PresenceStatus

__all__ = ["OwnInput", "OwnState", "OwnStatusMachine"]


class OwnState(enum.Enum):
    """States of the own-status machine."""

    ONLINE = enum.auto()
    AUTO_AWAY = enum.auto()
    AWAY = enum.auto()
    BUSY = enum.auto()
    INVISIBLE = enum.auto()


class OwnInput(enum.Enum):
    """Inputs other than an explicit choice."""

    IDLE = enum.auto()
    ACTIVITY = enum.auto()
    AUTO_AWAY_OFF = enum.auto()


TRANSITIONS: Final[Mapping[tuple[OwnState, OwnInput], OwnState]] = {
    (OwnState.ONLINE, OwnInput.IDLE): OwnState.AUTO_AWAY,
    (OwnState.AUTO_AWAY, OwnInput.ACTIVITY): OwnState.ONLINE,
    (OwnState.AUTO_AWAY, OwnInput.AUTO_AWAY_OFF): OwnState.ONLINE,
}
"""Idle/activity transitions; any pair not listed leaves the state as it is."""

CHOSEN_STATE: Final[Mapping[OwnStatus, OwnState]] = {
    OwnStatus.ONLINE: OwnState.ONLINE,
    OwnStatus.AWAY: OwnState.AWAY,
    OwnStatus.BUSY: OwnState.BUSY,
    OwnStatus.INVISIBLE: OwnState.INVISIBLE,
}
"""The state an explicit choice leads to, from any state."""

CHOSEN: Final[Mapping[OwnState, OwnStatus]] = {
    OwnState.ONLINE: OwnStatus.ONLINE,
    OwnState.AUTO_AWAY: OwnStatus.ONLINE,
    OwnState.AWAY: OwnStatus.AWAY,
    OwnState.BUSY: OwnStatus.BUSY,
    OwnState.INVISIBLE: OwnStatus.INVISIBLE,
}
"""The status the user chose, per state (what is persisted)."""

EFFECTIVE: Final[Mapping[OwnState, PresenceStatus]] = {
    OwnState.ONLINE: PresenceStatus.ONLINE,
    OwnState.AUTO_AWAY: PresenceStatus.AWAY,
    OwnState.AWAY: PresenceStatus.AWAY,
    OwnState.BUSY: PresenceStatus.BUSY,
    OwnState.INVISIBLE: PresenceStatus.OFFLINE,
}
"""What contacts see, per state."""


class OwnStatusMachine:
    """Chosen status and text, auto-away timing and the effective status.

    Args:
        status: The chosen status restored from settings.
        text: The status text restored from settings.
        auto_away_minutes: Idle minutes before online turns away; 0 disables.
        now: Current time (epoch seconds); counts as the last activity.
    """

    def __init__(self, status: OwnStatus, text: str, auto_away_minutes: int, now: float) -> None:
        self.state = CHOSEN_STATE[status]
        self.text = text
        self.auto_away_minutes = auto_away_minutes
        self.last_activity = now

    @property
    def chosen(self) -> OwnStatus:
        """The status the user chose."""
        return CHOSEN[self.state]

    @property
    def effective(self) -> PresenceStatus:
        """What contacts see."""
        return EFFECTIVE[self.state]

    @property
    def auto_away(self) -> bool:
        """Whether auto-away is in force."""
        return self.state is OwnState.AUTO_AWAY

    def choose(self, status: OwnStatus, text: str, now: float) -> None:
        """Apply the user's explicit choice; it is also activity."""
        self.state = CHOSEN_STATE[status]
        self.text = text
        self.last_activity = max(self.last_activity, now)

    def activity(self, now: float) -> None:
        """Record user activity; ends auto-away."""
        self.last_activity = max(self.last_activity, now)
        self._apply(OwnInput.ACTIVITY)

    def set_auto_away_minutes(self, minutes: int) -> None:
        """Change the idle delay; 0 disables auto-away and ends it."""
        self.auto_away_minutes = minutes
        if minutes <= 0:
            self._apply(OwnInput.AUTO_AWAY_OFF)

    def idle_deadline(self) -> float | None:
        """When auto-away would start, or None if it cannot from this state."""
        if self.state is not OwnState.ONLINE or self.auto_away_minutes <= 0:
            return None
        return self.last_activity + self.auto_away_minutes * 60.0

    def tick(self, now: float) -> None:
        """Start auto-away if the idle deadline has passed."""
        deadline = self.idle_deadline()
        if deadline is not None and now >= deadline:
            self._apply(OwnInput.IDLE)

    def _apply(self, given: OwnInput) -> None:
        self.state = TRANSITIONS.get((self.state, given), self.state)
