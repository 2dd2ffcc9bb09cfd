"""Live events of groups for the page (``/api/events``): a group changed, a group
message was stored or changed (ours or a member's: an edit, a delete, a reaction,
a receipt), or a member started or stopped typing (never stored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GroupEvent", "GroupMessageEvent", "GroupTypingEvent"]


@dataclass(frozen=True, slots=True)
class GroupEvent:
    """A group was created, joined, changed or left."""

    group: dict[str, Any]
    """The group as the API shows it (``kith.store.groups.GroupRecord.to_json``)."""

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "group", "group": self.group}


@dataclass(frozen=True, slots=True)
class GroupMessageEvent:
    """A group message was stored."""

    message: dict[str, Any]
    """The message as the API shows it (``GroupMessageRecord.to_json``)."""

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "group_message", "message": self.message}


@dataclass(frozen=True, slots=True)
class GroupTypingEvent:
    """A member started or stopped typing in a group; a start lasts ``expires_in``
    seconds unless renewed (as 1:1: :data:`kith.chat.typing_state.TYPING_TIMEOUT`)."""

    group_id: str
    member_id: str
    typing: bool
    expires_in: float

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "group_typing",
            "group": self.group_id,
            "member": self.member_id,
            "typing": self.typing,
            "expires_in": self.expires_in,
        }
