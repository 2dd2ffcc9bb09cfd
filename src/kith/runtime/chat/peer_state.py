"""What the node knows about one chat peer, as a pure state machine.

The *gate* decides whether anything may flow to and from the contact:

========================  =====================================================
``READY``                 frames flow
``KEY_CHANGED``           the contact proved another identity key: nothing is
                          sent until the user accepts it
``REBUILDING``            a commit failed: calls are refused and frames dropped
                          until the conversation is restored from the store
``REBUILDING_KEY_CHANGED``  both at once
========================  =====================================================

Its moves are the table :data:`GATE_MOVES`; a pair missing from it is a bug
(:class:`PeerStateError`). Beside the gate, :class:`PeerState` keeps three
facts, each changed by one named method that says whether it changed: the
contact is online (from presence news), a connection attempt is under way,
and ``has_messages`` is published to the contact. Nothing else changes them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

__all__ = ["GATE_MOVES", "Gate", "GateInput", "PeerState", "PeerStateError"]


class Gate(enum.Enum):
    """Whether frames may flow with the contact."""

    READY = "ready"
    KEY_CHANGED = "key_changed"
    REBUILDING = "rebuilding"
    REBUILDING_KEY_CHANGED = "rebuilding_key_changed"


class GateInput(enum.Enum):
    """What moves the gate."""

    KEY_CHANGED = enum.auto()
    """The contact proved an identity key other than the one we know."""
    KEY_ACCEPTED = enum.auto()
    """The user accepted the changed key."""
    COMMIT_FAILED = enum.auto()
    """A transaction with this conversation's events failed."""
    RESTORED = enum.auto()
    """The conversation was rebuilt from the store (no key warning stored)."""
    RESTORED_KEY_CHANGED = enum.auto()
    """The conversation was rebuilt; the store holds a key warning."""


_G, _I = Gate, GateInput

GATE_MOVES: Final[Mapping[tuple[Gate, GateInput], Gate]] = {
    (_G.READY, _I.KEY_CHANGED): _G.KEY_CHANGED,
    (_G.READY, _I.KEY_ACCEPTED): _G.READY,
    (_G.READY, _I.COMMIT_FAILED): _G.REBUILDING,
    (_G.KEY_CHANGED, _I.KEY_CHANGED): _G.KEY_CHANGED,
    (_G.KEY_CHANGED, _I.KEY_ACCEPTED): _G.READY,
    (_G.KEY_CHANGED, _I.COMMIT_FAILED): _G.REBUILDING_KEY_CHANGED,
    (_G.REBUILDING, _I.KEY_CHANGED): _G.REBUILDING_KEY_CHANGED,
    (_G.REBUILDING, _I.KEY_ACCEPTED): _G.REBUILDING,
    (_G.REBUILDING, _I.RESTORED): _G.READY,
    (_G.REBUILDING, _I.RESTORED_KEY_CHANGED): _G.KEY_CHANGED,
    (_G.REBUILDING_KEY_CHANGED, _I.KEY_CHANGED): _G.REBUILDING_KEY_CHANGED,
    (_G.REBUILDING_KEY_CHANGED, _I.KEY_ACCEPTED): _G.REBUILDING,
    (_G.REBUILDING_KEY_CHANGED, _I.RESTORED): _G.KEY_CHANGED,
    (_G.REBUILDING_KEY_CHANGED, _I.RESTORED_KEY_CHANGED): _G.KEY_CHANGED,
}
"""Every legal move of the gate."""

_BLOCKED: Final = frozenset({Gate.KEY_CHANGED, Gate.REBUILDING_KEY_CHANGED})
_REBUILDING: Final = frozenset({Gate.REBUILDING, Gate.REBUILDING_KEY_CHANGED})


class PeerStateError(RuntimeError):
    """A move the table does not allow (a bug in the caller)."""


class PeerState:
    """The gate and the facts the node keeps about one chat peer.

    Args:
        key_changed: The store holds a key warning for the contact.
        flagged: ``has_messages`` is published to the contact (something
            waits in the outbox at start, when nobody is online yet).
    """

    def __init__(self, *, key_changed: bool = False, flagged: bool = False) -> None:
        self._gate = Gate.KEY_CHANGED if key_changed else Gate.READY
        self._online = False
        self._opening = False
        self._flagged = flagged

    def __repr__(self) -> str:
        online = "online" if self._online else "offline"
        return f"PeerState({self._gate.value}, {online})"

    @property
    def gate(self) -> Gate:
        """The gate's state."""
        return self._gate

    @property
    def blocked(self) -> bool:
        """Nothing may be sent until the user accepts the changed key."""
        return self._gate in _BLOCKED

    @property
    def rebuilding(self) -> bool:
        """Calls are refused and frames dropped until the store is read again."""
        return self._gate in _REBUILDING

    @property
    def online(self) -> bool:
        """Whether presence says the contact is online."""
        return self._online

    @property
    def opening(self) -> bool:
        """Whether a connection attempt is under way."""
        return self._opening

    @property
    def flagged(self) -> bool:
        """Whether ``has_messages`` is published to the contact."""
        return self._flagged

    def move(self, what: GateInput) -> Gate:
        """Move the gate.

        Raises:
            PeerStateError: The table has no move for ``what`` from here.
        """
        new = GATE_MOVES.get((self._gate, what))
        if new is None:
            raise PeerStateError(f"no move for {what.name} from {self._gate.value}")
        self._gate = new
        return new

    def set_online(self, online: bool) -> bool:
        """Record presence news; whether it changed anything."""
        changed, self._online = self._online != online, online
        return changed

    def set_opening(self, opening: bool) -> bool:
        """A connection attempt starts or ends; whether it changed anything."""
        changed, self._opening = self._opening != opening, opening
        return changed

    def set_flagged(self, flagged: bool) -> bool:
        """``has_messages`` is (or stops being) published; whether it changed."""
        changed, self._flagged = self._flagged != flagged, flagged
        return changed
