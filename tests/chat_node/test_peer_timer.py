"""A conversation's timer on its peer: fires by the next deadline, and a
stream of calls that only move the deadline later makes no new timer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from kith.runtime.chat.peer import ChatPeer
from kith_proto.keys import IdentityKeys

CLOCK = 1_000.0


class Deadlines:
    """A conversation whose next deadline the test sets."""

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.has_outbox = False

    def next_deadline(self) -> float | None:
        return self.deadline


def _peer(conversation: Deadlines) -> ChatPeer:
    return ChatPeer(
        IdentityKeys.generate().kith_id,
        keys=IdentityKeys.generate(),
        pair=cast(Any, None),
        conversation=cast(Any, conversation),
        make_link=cast(Any, None),
        host=cast(Any, None),
        clock=lambda: CLOCK,
        log=logging.getLogger("test"),
    )


def _count_timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    loop = asyncio.get_running_loop()
    made: list[float] = []
    original = loop.call_later

    def call_later(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        if getattr(callback, "__self__", None).__class__ is ChatPeer:  # not the test's waits
            made.append(delay)
        return original(delay, callback, *args)

    monkeypatch.setattr(loop, "call_later", call_later)
    return made


async def test_deadlines_moving_later_keep_the_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _count_timers(monkeypatch)
    conversation = Deadlines()
    peer = _peer(conversation)
    fired = asyncio.Event()
    for step in range(100):  # a burst: every receipt moves the resend deadline on
        conversation.deadline = CLOCK + 0.05 + step
        peer.reschedule(lambda p: fired.set())
    assert made == [pytest.approx(0.05)]
    await asyncio.wait_for(fired.wait(), 5)  # early for the last deadline: on_due reschedules
    peer.cancel_timer()


async def test_an_earlier_deadline_replaces_the_timer() -> None:
    conversation = Deadlines()
    peer = _peer(conversation)
    fired = asyncio.Event()
    conversation.deadline = CLOCK + 3600
    peer.reschedule(lambda p: fired.set())
    conversation.deadline = CLOCK + 0.01
    peer.reschedule(lambda p: fired.set())
    await asyncio.wait_for(fired.wait(), 5)


async def test_a_fired_timer_is_made_again_for_the_next_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = _count_timers(monkeypatch)
    conversation = Deadlines()
    peer = _peer(conversation)
    calls: list[int] = []
    done = asyncio.Event()

    def on_due(p: ChatPeer) -> None:
        calls.append(len(calls))
        if len(calls) < 3:
            p.reschedule(on_due)  # as the driver does after each tick
        else:
            done.set()

    conversation.deadline = CLOCK
    peer.reschedule(on_due)
    await asyncio.wait_for(done.wait(), 5)
    assert calls == [0, 1, 2]
    assert len(made) == 3


async def test_no_deadline_stops_the_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _count_timers(monkeypatch)
    conversation = Deadlines()
    peer = _peer(conversation)
    fired: list[ChatPeer] = []
    done = asyncio.Event()

    def on_due(p: ChatPeer) -> None:
        fired.append(p)
        done.set()

    conversation.deadline = CLOCK
    peer.reschedule(on_due)
    conversation.deadline = None
    peer.reschedule(on_due)
    conversation.deadline = CLOCK + 0.01  # a new deadline: a new timer, the old one is gone
    peer.reschedule(on_due)
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0.05)  # past both deadlines: a timer left over would have fired too
    assert fired == [peer]
    assert len(made) == 2
    peer.cancel_timer()
