"""The signal pump: signaling events become presence-driver and chat-driver calls."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kith.runtime.signal_pump import SignalPump
from kith.signaling.events import (
    Connected,
    Disconnected,
    PresenceGone,
    PresenceValue,
    RelayMessage,
    ServerProblem,
    SignalingEvent,
)

TOPIC = bytes(32)


class RecordingLink:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail

    def connected(self) -> None:
        self.calls.append(("connected",))

    def disconnected(self) -> None:
        self.calls.append(("disconnected",))

    def presence_value(self, topic: bytes, payload: bytes) -> None:
        if self.fail:
            raise RuntimeError("boom")
        self.calls.append(("value", topic, payload))

    def presence_gone(self, topic: bytes) -> None:
        self.calls.append(("gone", topic))

    def relay_message(self, topic: bytes, payload: bytes) -> None:
        self.calls.append(("relay", topic, payload))


async def _stream(*events: SignalingEvent) -> AsyncIterator[SignalingEvent]:
    for event in events:
        yield event


def _pump(link: RecordingLink, now: list[float]) -> SignalPump:
    return SignalPump(link, link, logging.getLogger("test"), lambda: now[0])


async def test_events_become_link_calls() -> None:
    link = RecordingLink()
    events: list[SignalingEvent] = [
        Connected(),
        PresenceValue(TOPIC, b"x"),
        PresenceGone(TOPIC),
        RelayMessage(TOPIC, b"offer"),
        Disconnected("x", 1),
    ]
    await _pump(link, [0.0]).run(_stream(*events))
    assert link.calls == [
        ("connected",),
        ("value", TOPIC, b"x"),
        ("gone", TOPIC),
        ("relay", TOPIC, b"offer"),
        ("disconnected",),
    ]


async def test_a_failing_event_is_logged_and_the_pump_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = RecordingLink(fail=True)
    await _pump(link, [0.0]).run(_stream(PresenceValue(TOPIC, b"x"), Connected()))
    assert link.calls == [("connected",)]
    assert "could not handle PresenceValue" in caplog.text


def test_a_repeated_server_problem_is_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    pump = _pump(RecordingLink(), now)
    for _ in range(100):
        pump.dispatch(ServerProblem("too_many_topics", "at most 1024 topics"))
    now[0] = 61.0
    pump.dispatch(ServerProblem("too_many_topics", "at most 1024 topics"))
    assert caplog.text.count("too_many_topics") == 2


class RecordingProblems:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def publish(self, event: Any) -> None:
        self.events.append(event)


def test_a_refused_sign_in_is_a_warning_naming_both_urls_and_a_ui_notice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link, problems = RecordingLink(), RecordingProblems()
    pump = SignalPump(link, link, logging.getLogger("test"), problems=problems)
    detail = (
        "wrong_server: signature names another server; this one is ws://0.0.0.0:8765 "
        "(we dialled ws://10.0.0.5:8765)"
    )
    with caplog.at_level(logging.DEBUG):
        pump.dispatch(Disconnected("auth_failed", 2.0, detail))
        pump.dispatch(Disconnected("auth_failed", 4.0, detail))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ws://0.0.0.0:8765" in warnings[0]
    assert "ws://10.0.0.5:8765" in warnings[0]
    assert [e.to_json()["type"] for e in problems.events] == ["connection_problem"] * 2
    assert problems.events[0].to_json()["detail"] == detail
    assert link.calls == [("disconnected",), ("disconnected",)]


def test_an_ordinary_disconnect_is_not_shown_as_a_problem() -> None:
    link, problems = RecordingLink(), RecordingProblems()
    pump = SignalPump(link, link, logging.getLogger("test"), problems=problems)
    pump.dispatch(Disconnected("connect_failed", 1.0, "refused"))
    assert problems.events == []
