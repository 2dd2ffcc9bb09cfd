"""Live events of calls for the page (``/api/events``): a call changed, or the peer's
page sent its session description or an ICE candidate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CallEvent", "CallSignalEvent"]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A call started ringing, was answered, connected, or ended (with its history entry)."""

    call: dict[str, Any]
    """The call as the API shows it (``kith.runtime.calls.CallView.to_json``)."""

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "call", "call": self.call}


@dataclass(frozen=True, slots=True)
class CallSignalEvent:
    """The peer's page sent a session description (``kind`` offer or answer, ``data``
    the SDP) or an ICE candidate (``kind`` ice, ``data`` its JSON), for our page."""

    call_id: str
    kind: str
    data: str

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "call_signal", "id": self.call_id, "kind": self.kind, "data": self.data}
