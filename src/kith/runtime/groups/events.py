"""Live events of groups for the page (``/api/events``): a group changed, or a group
message was stored (ours or a member's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GroupEvent", "GroupMessageEvent"]


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
