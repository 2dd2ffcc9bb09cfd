"""The chat peer's state machine: the gate's table, and facts that say when they change."""

from __future__ import annotations

import itertools

import pytest

from kith.runtime.chat.peer_state import GATE_MOVES, Gate, GateInput, PeerState, PeerStateError


def _at(gate: Gate) -> PeerState:
    state = PeerState(key_changed=gate in (Gate.KEY_CHANGED, Gate.REBUILDING_KEY_CHANGED))
    if gate in (Gate.REBUILDING, Gate.REBUILDING_KEY_CHANGED):
        state.move(GateInput.COMMIT_FAILED)
    assert state.gate is gate
    return state


@pytest.mark.parametrize(("start", "what"), list(itertools.product(Gate, GateInput)))
def test_every_move_follows_the_table_and_others_are_refused(start: Gate, what: GateInput) -> None:
    state = _at(start)
    expected = GATE_MOVES.get((start, what))
    if expected is None:
        with pytest.raises(PeerStateError):
            state.move(what)
        assert state.gate is start  # a refused move changes nothing
    else:
        assert state.move(what) is expected


def test_a_key_change_during_a_rebuild_survives_the_rebuild() -> None:
    state = PeerState()
    state.move(GateInput.COMMIT_FAILED)
    assert state.rebuilding
    assert not state.blocked
    state.move(GateInput.KEY_CHANGED)
    assert state.rebuilding
    assert state.blocked
    state.move(GateInput.RESTORED)
    assert state.blocked
    assert not state.rebuilding


def test_a_second_failed_commit_while_rebuilding_is_a_bug() -> None:
    state = PeerState()
    state.move(GateInput.COMMIT_FAILED)
    with pytest.raises(PeerStateError, match="COMMIT_FAILED"):
        state.move(GateInput.COMMIT_FAILED)


def test_facts_report_whether_they_changed() -> None:
    state = PeerState(flagged=True)
    assert state.flagged
    assert not state.online
    assert not state.opening
    assert state.set_online(True)
    assert not state.set_online(True)
    assert state.set_opening(True)
    assert not state.set_opening(True)
    assert state.set_flagged(False)
    assert not state.set_flagged(False)
    assert (state.online, state.opening, state.flagged) == (True, True, False)
