"""Feeds the signaling client's events into the presence link.

The one place that knows both :mod:`kith.signaling.events` and the link, so
the link stays testable without the signaling package.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from kith.runtime.presence_link import PresenceLink
from kith.signaling.events import (
    Connected,
    Disconnected,
    PresenceGone,
    PresenceValue,
    ServerProblem,
    SignalingEvent,
)

__all__ = ["dispatch", "pump"]


def dispatch(event: SignalingEvent, link: PresenceLink, log: logging.Logger) -> None:
    """Act on one signaling event."""
    match event:
        case Connected():
            log.info("connected to the signaling server")
            link.connected()
        case Disconnected(reason=reason, retry_in=retry_in):
            _log_disconnect(log, reason, retry_in)
            link.disconnected()
        case PresenceValue(topic=topic, payload=payload):
            link.presence_value(topic, payload)
        case PresenceGone(topic=topic):
            link.presence_gone(topic)
        case ServerProblem(code=code, message=message):
            log.warning("signaling server problem: %s (%s)", message, code)
        case _:
            pass  # relay and intro messages belong to later capabilities


def _log_disconnect(log: logging.Logger, reason: str, retry_in: float | None) -> None:
    if retry_in is None:
        log.info("signaling connection ended (%s)", reason)
    else:
        log.info("signaling connection lost (%s); retrying in %.1f s", reason, retry_in)


async def pump(
    events: AsyncIterator[SignalingEvent], link: PresenceLink, log: logging.Logger
) -> None:
    """Dispatch every event until the client's event stream ends.

    A failure while handling one event is a bug; it is logged with its
    traceback and the pump goes on, so presence keeps working for the rest.
    """
    async for event in events:
        try:
            dispatch(event, link, log)
        except Exception:
            log.exception("could not handle %s", type(event).__name__)
