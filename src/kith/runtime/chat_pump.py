"""Signaling events for presence *and* chat.

:class:`MessagingPump` extends the presence pump: relayed offers and answers
go to the chat link, and presence changes reach the chat link after the
presence link has handled them (contacts online or offline, the
``has_messages`` flag).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kith.runtime.chat_link import ChatLink
from kith.runtime.presence_link import PresenceLink
from kith.runtime.signal_pump import SignalPump
from kith.signaling.events import (
    Disconnected,
    PresenceGone,
    PresenceValue,
    RelayMessage,
    SignalingEvent,
)

__all__ = ["MessagingPump"]


class MessagingPump(SignalPump):
    """The presence pump plus the chat link.

    Args:
        link: The presence link.
        chat: The chat link.
        log: Where connection changes and server problems go.
        clock: Monotonic seconds.
    """

    def __init__(
        self,
        link: PresenceLink,
        chat: ChatLink,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(link, log, clock)
        self._chat = chat

    def dispatch(self, event: SignalingEvent) -> None:
        """Act on one signaling event."""
        if isinstance(event, RelayMessage):
            self._chat.relay_message(event.topic, event.payload)
            return
        super().dispatch(event)
        match event:
            case PresenceValue(topic=topic, payload=payload):
                self._chat.presence_value(topic, payload)
            case PresenceGone(topic=topic):
                self._chat.presence_gone(topic)
            case Disconnected():
                self._chat.disconnected()
            case _:
                pass
