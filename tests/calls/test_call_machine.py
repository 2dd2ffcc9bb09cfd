"""The call state machine: its table, timers, durations and history outcomes."""

from __future__ import annotations

import pytest

from kith.calls import Call, CallInput, CallOutcome, CallState, EndReason, IllegalTransition
from kith.calls.machine import ANSWER_TIMEOUT, CONNECT_TIMEOUT, TRANSITIONS

ID = "ab" * 16


def call(outgoing: bool = True) -> Call:
    c = Call(ID, "bob", outgoing=outgoing, video=False, created=100.0)
    c.step(CallInput.START if outgoing else CallInput.RING, 100.0)
    return c


def state_of(c: Call) -> CallState:
    return c.state  # read anew: mypy would keep the narrowing of a previous assert


def test_an_answered_call_runs_to_its_duration() -> None:
    c = call()
    assert c.state is CallState.RINGING_OUT
    assert c.deadline() == 100.0 + ANSWER_TIMEOUT
    c.step(CallInput.REMOTE_ACCEPT, 105.0)
    assert state_of(c) is CallState.CONNECTING
    assert c.deadline() == 105.0 + CONNECT_TIMEOUT
    c.step(CallInput.MEDIA_UP, 107.0)
    c.step(CallInput.MEDIA_DOWN, 150.0)
    assert state_of(c) is CallState.RECONNECTING
    c.step(CallInput.MEDIA_UP, 152.0)
    assert state_of(c) is CallState.CONNECTED
    assert c.deadline() is None
    c.step(CallInput.LOCAL_HANGUP, 167.0)
    assert (c.state, c.reason) == (CallState.ENDED, EndReason.HANGUP)
    assert c.duration() == 60.0
    assert c.outcome() is CallOutcome.ANSWERED
    assert not c.live


def test_a_step_the_state_does_not_allow_is_refused_and_changes_nothing() -> None:
    c = call()
    with pytest.raises(IllegalTransition):
        c.step(CallInput.LOCAL_ACCEPT, 101.0)  # the caller cannot accept its own call
    assert c.state is CallState.RINGING_OUT
    c.step(CallInput.LOCAL_HANGUP, 102.0)
    with pytest.raises(IllegalTransition):
        c.step(CallInput.MEDIA_UP, 103.0)  # ended is final
    assert (c.state, c.reason, c.outcome()) == (
        CallState.ENDED, EndReason.CANCELLED, CallOutcome.UNANSWERED,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outgoing", "steps", "reason", "entry"),
    [
        (False, [CallInput.LOCAL_DECLINE], EndReason.DECLINED, CallOutcome.DECLINED),
        (True, [CallInput.REMOTE_DECLINE], EndReason.REMOTE_DECLINED, CallOutcome.DECLINED),
        (False, [CallInput.LOCAL_BUSY], EndReason.MISSED, CallOutcome.MISSED),
        (True, [CallInput.REMOTE_BUSY], EndReason.BUSY, CallOutcome.UNANSWERED),
        (True, [CallInput.REMOTE_UNAVAILABLE], EndReason.NOT_REACHABLE, CallOutcome.UNANSWERED),
        (False, [CallInput.REMOTE_HANGUP], EndReason.MISSED, CallOutcome.MISSED),
        (False, [CallInput.TIMEOUT], EndReason.MISSED, CallOutcome.MISSED),
        (True, [CallInput.TIMEOUT], EndReason.NO_ANSWER, CallOutcome.UNANSWERED),
        (True, [CallInput.CHANNEL_LOST], EndReason.FAILED, CallOutcome.FAILED),
        (False, [CallInput.LOCAL_ACCEPT, CallInput.TIMEOUT], EndReason.FAILED, CallOutcome.FAILED),
        (
            False,
            [CallInput.LOCAL_ACCEPT, CallInput.MEDIA_UP, CallInput.REMOTE_HANGUP],
            EndReason.REMOTE_HANGUP,
            CallOutcome.ANSWERED,
        ),
    ],
)
def test_each_ending_has_its_reason_and_history_entry(
    outgoing: bool, steps: list[CallInput], reason: EndReason, entry: CallOutcome
) -> None:
    c = call(outgoing)
    for i, step in enumerate(steps):
        c.step(step, 101.0 + i)
    assert (c.state, c.reason, c.outcome()) == (CallState.ENDED, reason, entry)


def test_a_connected_call_outlives_the_nodes_channel_but_a_ringing_one_does_not() -> None:
    c = call(outgoing=False)
    c.step(CallInput.LOCAL_ACCEPT, 101.0)
    c.step(CallInput.MEDIA_UP, 102.0)
    assert not c.step(CallInput.CHANNEL_LOST, 103.0)
    assert state_of(c) is CallState.CONNECTED
    assert c.outcome() is None


def test_the_table_never_leaves_ended_and_every_live_state_can_end() -> None:
    assert not [key for key in TRANSITIONS if key[0] is CallState.ENDED]
    for state in CallState:
        if state in (CallState.IDLE, CallState.ENDED):
            continue
        ends = [k for k, v in TRANSITIONS.items() if k[0] is state and v[0] is CallState.ENDED]
        assert ends, state


def test_a_call_that_reached_nobody_ends_before_ringing() -> None:
    c = Call(ID, "bob", outgoing=True, video=True, created=100.0)
    c.step(CallInput.UNREACHABLE, 100.0)
    assert (c.state, c.reason, c.outcome()) == (
        CallState.ENDED, EndReason.NOT_REACHABLE, CallOutcome.UNANSWERED,
    )  # fmt: skip
    with pytest.raises(IllegalTransition):
        call().step(CallInput.UNREACHABLE, 101.0)  # only before it rang
