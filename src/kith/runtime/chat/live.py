"""Live chat events for the local API's WebSocket (``docs/ui.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from kith.chat import ConversationEvent, MessageStateChanged, StoreMessage, TypingChanged
from kith.chat.events import moves_state_only
from kith.conversation_store import ChatMessage

__all__ = [
    "ChatEvent",
    "ChatNoticeEvent",
    "MessageEvent",
    "MessageStateEvent",
    "TypingEvent",
    "failure_text",
    "live_events",
]


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A new or changed message (edit, delete, reaction), either direction."""

    message: ChatMessage

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "message",
            "contact": self.message.contact,
            "message": self.message.to_json(),
        }


@dataclass(frozen=True, slots=True)
class MessageStateEvent:
    """One of our messages moved to ``state`` (sent, delivered, read, failed)."""

    contact_id: str
    message_id: str
    state: str

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "message_state",
            "contact": self.contact_id,
            "id": self.message_id,
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class TypingEvent:
    """The contact started or stopped typing."""

    contact_id: str
    typing: bool

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "typing", "contact": self.contact_id, "typing": self.typing}


@dataclass(frozen=True, slots=True)
class ChatNoticeEvent:
    """Something the user should know about a conversation.

    ``code`` is one of ``queued`` (the contact is offline; the message waits),
    ``connect_failed`` (with the reason: ``ice_failed``, ``timeout``, …;
    retried later), ``key_changed`` (the contact's identity key changed:
    nothing is sent until accepted), ``revealed`` (you are invisible and
    connecting to this contact shows them that you are online) or
    ``rate_limited`` (the contact sends faster than the inbound limit; the
    rest arrives as they slow down, see ``kith.chat.rate_limit``).
    """

    contact_id: str
    code: str
    message: str
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "chat_notice",
            "contact": self.contact_id,
            "code": self.code,
            "reason": self.reason,
            "message": self.message,
        }


ChatEvent: TypeAlias = MessageEvent | MessageStateEvent | TypingEvent | ChatNoticeEvent


def failure_text(reason: str) -> str:
    """What a connection failure means for the user."""
    texts = {
        "offline": "the contact is not reachable right now; the message waits",
        "not_connected": "you are not connected to the signaling server; the message waits",
        "ice_failed": "no network path to the contact (typical behind a strict NAT)",
        "dtls_failed": "the secure connection could not be set up",
        "timeout": "the contact did not answer in time",
        "bad_signal": "the contact's connection offer was unusable",
        "no_relay": "relay_only is on but the signaling server offers no TURN relay, "
        "so Kith does not connect directly",
    }
    return texts.get(reason, "the connection failed") + "; retrying later"


def live_events(
    events: Sequence[ConversationEvent], own_id: str, contact_id: str
) -> list[ChatEvent]:
    """The UI events of one conversation call: one ``message`` for each new or
    changed message, as it is at the end of the call (a message written and
    sent in one call is one event in state ``sent``, not a ``message`` and a
    ``message_state``), ``message_state`` for the state moves of the other
    messages, ``typing``."""
    final = {e.message.id: e.message for e in events if isinstance(e, StoreMessage)}
    shown: set[str] = set()
    out: list[ChatEvent] = []
    for index, event in enumerate(events):
        match event:
            case StoreMessage(message=message) if not moves_state_only(events, index):
                if message.id not in shown:
                    shown.add(message.id)
                    view = ChatMessage.of(final[message.id], own_id, contact_id)
                    out.append(MessageEvent(view))
            case MessageStateChanged(id=message_id, state=state) if message_id not in shown:
                out.append(MessageStateEvent(contact_id, message_id, state.value))
            case TypingChanged(active=active):
                out.append(TypingEvent(contact_id, active))
            case _:
                pass
    return out
