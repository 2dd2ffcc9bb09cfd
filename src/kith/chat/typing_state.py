"""Typing indicators: ephemeral, throttled out, expiring in (pure)."""

from __future__ import annotations

from typing import Final

__all__ = ["TYPING_RESEND", "TYPING_TIMEOUT", "OwnTyping", "PeerTyping"]

TYPING_TIMEOUT: Final = 6.0
"""Seconds a peer's "typing" lasts without a refresh."""
TYPING_RESEND: Final = 3.0
"""Seconds between our repeated "typing" frames while the user keeps typing."""


class PeerTyping:
    """Whether the contact is typing, with expiry."""

    def __init__(self, timeout: float = TYPING_TIMEOUT) -> None:
        self._timeout = timeout
        self._until: float | None = None

    @property
    def active(self) -> bool:
        """Whether the contact is shown typing."""
        return self._until is not None

    @property
    def deadline(self) -> float | None:
        """When the indicator expires."""
        return self._until

    def update(self, active: bool, now: float) -> bool:
        """Apply a ``Typing`` frame; True if what is shown changed."""
        was = self.active
        self._until = now + self._timeout if active else None
        return was != self.active

    def expire(self, now: float) -> bool:
        """Drop an expired indicator; True if it was shown."""
        if self._until is not None and now >= self._until:
            self._until = None
            return True
        return False


class OwnTyping:
    """Throttles our own "typing" frames."""

    def __init__(self, resend: float = TYPING_RESEND) -> None:
        self._resend = resend
        self._sent_at: float | None = None

    def should_send(self, active: bool, now: float) -> bool:
        """Whether this change needs a frame (stops always do, if a start went out)."""
        if not active:
            sent, self._sent_at = self._sent_at is not None, None
            return sent
        if self._sent_at is not None and now - self._sent_at < self._resend:
            return False
        self._sent_at = now
        return True

    def reset(self) -> None:
        """The channel closed: the next start is sent at once."""
        self._sent_at = None
