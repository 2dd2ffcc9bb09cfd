"""Feeds the signaling client's events into the node.

Presence values, "gone" events and the connection state go to the presence
driver (the only component that opens presence records); relayed offers and
answers go to the chat side. The one place that knows both
:mod:`kith.signaling.events` and the drivers, so these stay testable without
the signaling package.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Final, Protocol

from kith.runtime.live import ConnectionProblemEvent
from kith.signaling.events import (
    Connected,
    Disconnected,
    IntroMessage,
    PresenceGone,
    PresenceValue,
    RelayMessage,
    ServerProblem,
    SignalingEvent,
)

__all__ = ["IntroConsumer", "PresenceInputs", "ProblemSink", "RelayConsumer", "SignalPump"]

PROBLEM_LOG_INTERVAL: Final = 60.0
"""Seconds during which a repeated server problem code is not logged again."""


class PresenceInputs(Protocol):
    """What the presence driver takes from signaling."""

    def connected(self) -> None:
        """The client is authenticated and subscribed."""
        ...

    def disconnected(self) -> None:
        """The connection dropped."""
        ...

    def presence_value(self, topic: bytes, payload: bytes) -> None:
        """A value arrived on a subscribed topic."""
        ...

    def presence_gone(self, topic: bytes) -> None:
        """A subscribed topic's publisher retracted it or disconnected."""
        ...


class RelayConsumer(Protocol):
    """What takes relayed offers and answers (the chat driver)."""

    def relay_message(self, topic: bytes, payload: bytes) -> None:
        """A sealed signal arrived on one of our relay inboxes."""
        ...


class IntroConsumer(Protocol):
    """What takes contact requests (the request driver)."""

    def connected(self) -> None:
        """The client is connected (requests not sent yet can go)."""
        ...

    def intro_message(self, topic: bytes, payload: bytes) -> None:
        """A sealed contact request arrived on our intro topic."""
        ...


class ProblemSink(Protocol):
    """Where a connection problem the user can fix is shown (the live events)."""

    def publish(self, event: ConnectionProblemEvent) -> None:
        """Show ``event``."""
        ...


_USER_FIXABLE: Final = frozenset({"auth_failed"})
"""Disconnect reasons logged as warnings and shown in the UI: a setting is wrong."""


class SignalPump:
    """Dispatches signaling events to the drivers, logging connection changes.

    Only the first of a run of failed connection attempts is logged at INFO;
    the retries that follow are DEBUG (``kith run -v``).

    Args:
        presence: The presence driver.
        relay: The chat driver (relayed offers and answers).
        log: Where connection changes and server problems go.
        clock: Monotonic seconds (to quieten repeated server problems).
        problems: Where a refused sign-in is shown (the UI's live events).
        intros: Where contact requests go (the request driver).
    """

    def __init__(
        self,
        presence: PresenceInputs,
        relay: RelayConsumer,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
        *,
        problems: ProblemSink | None = None,
        intros: IntroConsumer | None = None,
    ) -> None:
        self._presence = presence
        self._relay = relay
        self._log = log
        self._problems = problems
        self._intros = intros
        self._last_problem = ""
        self._clock = clock
        self._logged: dict[str, float] = {}
        self._down = False

    async def run(self, events: AsyncIterator[SignalingEvent]) -> None:
        """Dispatch every event until the client's event stream ends.

        A failure while handling one event is a bug; it is logged with its
        traceback and the pump goes on, so the node keeps working for the rest.
        """
        async for event in events:
            try:
                self.dispatch(event)
            except Exception:
                self._log.exception("could not handle %s", type(event).__name__)

    def dispatch(self, event: SignalingEvent) -> None:
        """Act on one signaling event."""
        match event:
            case Connected(url=url):
                self._down = False
                self._last_problem = ""
                self._log.info("connected to the signaling server %s", url)
                self._presence.connected()
                if self._intros is not None:
                    self._intros.connected()
            case Disconnected(reason=reason, retry_in=retry_in, detail=detail):
                if reason in _USER_FIXABLE:
                    self._fixable(reason, detail, retry_in)
                else:
                    self._log_disconnect(reason, retry_in)
                self._presence.disconnected()
            case PresenceValue(topic=topic, payload=payload):
                self._presence.presence_value(topic, payload)
            case PresenceGone(topic=topic):
                self._presence.presence_gone(topic)
            case RelayMessage(topic=topic, payload=payload):
                self._relay.relay_message(topic, payload)
            case IntroMessage(topic=topic, payload=payload):
                if self._intros is not None:
                    self._intros.intro_message(topic, payload)
            case ServerProblem(code=code, message=message):
                self._problem(code, message)
            case _:
                pass  # intro messages belong to a later capability

    def _log_disconnect(self, reason: str, retry_in: float | None) -> None:
        level = logging.DEBUG if self._down else logging.INFO
        self._down = True
        if retry_in is None:
            self._log.log(level, "signaling connection ended (%s)", reason)
        else:
            message = "signaling connection down (%s); retrying in %.1f s"
            self._log.log(level, message, reason, retry_in)

    def _fixable(self, reason: str, detail: str, retry_in: float | None) -> None:
        """A refused sign-in: a warning (once per distinct detail) and a UI notice."""
        self._down = True
        if detail != self._last_problem:
            self._last_problem = detail
            again = "" if retry_in is None else "; retrying with backoff"
            self._log.warning("signaling server refused our sign-in: %s%s", detail, again)
        else:
            self._log.debug("signaling sign-in refused again (%s)", reason)
        if self._problems is not None:
            self._problems.publish(ConnectionProblemEvent(reason, detail, retry_in))

    def _problem(self, code: str, message: str) -> None:
        now, last = self._clock(), self._logged.get(code)
        if last is not None and now - last < PROBLEM_LOG_INTERVAL:
            return
        self._logged[code] = now
        self._log.warning("signaling server problem: %s (%s)", message, code)
