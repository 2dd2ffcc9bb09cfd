"""The operations the CLI performs, as an interface with interchangeable backends.

:class:`DirectBackend` (``kith.direct``) acts on the database;
:class:`~kith.api.client.NodeBackend` talks to a running node's local HTTP API
so changes take effect live. The CLI picks one in a single place
(``kith.cli.context``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from kith.models import Contact, IdentityInfo, SettingState

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kith.contact_list import ContactEntry
    from kith.conversation_store import ChatMessage

__all__ = ["NOT_RUNNING", "Backend", "ContactDetails", "ImportResult", "OwnStatus"]


@dataclass(frozen=True)
class ContactDetails:
    """A contact with the safety number of the pair."""

    contact: Contact
    safety_number: str

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``kith contacts show --json``."""
        return {**self.contact.to_json(), "safety_number": self.safety_number}


@dataclass(frozen=True)
class ImportResult:
    """What importing a contact list did.

    Attributes:
        added: The contacts added, in the list's order.
        skipped: Entries left out because the contact was already there (or
            appeared earlier in the same list).
    """

    added: tuple[Contact, ...]
    skipped: int

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``kith contacts import --json``."""
        return {
            "imported": len(self.added),
            "skipped": self.skipped,
            "contacts": [c.to_json() for c in self.added],
        }


NOT_RUNNING: Final = "not running"
"""The ``connection`` of an own status read from the database (no node runs)."""


@dataclass(frozen=True)
class OwnStatus:
    """The user's own status.

    Attributes:
        status: The chosen status (``user_status``).
        text: The status text.
        effective: What contacts see (invisible shows as offline; away under auto-away).
        connection: ``connected``/``disconnected`` from a running node, else ``not running``.
    """

    status: str
    text: str
    effective: str
    connection: str = NOT_RUNNING

    @classmethod
    def stored(cls, status: str, text: str) -> OwnStatus:
        """The status as the database holds it, with no node running."""
        return cls(status, text, "offline" if status == "invisible" else status)

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``kith status --json``."""
        return {
            "status": self.status,
            "text": self.text,
            "effective": self.effective,
            "connection": self.connection,
        }


class Backend(Protocol):
    """What the CLI can ask of Kith. IDs are accepted as typed and canonicalised."""

    def identity(self) -> IdentityInfo:
        """The local identity."""
        ...

    def set_name(self, name: str) -> IdentityInfo:
        """Change the local display name."""
        ...

    def status(self) -> OwnStatus:
        """The user's own status."""
        ...

    def set_status(self, status: str, text: str | None = None) -> OwnStatus:
        """Set the own status (and optionally the status text)."""
        ...

    def contacts(self) -> list[Contact]:
        """All contacts."""
        ...

    def contact(self, kith_id: str) -> ContactDetails:
        """One contact with its safety number."""
        ...

    def add_contact(self, kith_id: str, name: str | None = None) -> Contact:
        """Add a contact."""
        ...

    def import_contacts(self, entries: Sequence[ContactEntry]) -> ImportResult:
        """Add a list of contacts in one transaction: all of them or, if any is bad, none."""
        ...

    def remove_contact(self, kith_id: str) -> None:
        """Remove a contact."""
        ...

    def rename_contact(self, kith_id: str, name: str | None) -> Contact:
        """Set or clear a contact's nickname."""
        ...

    def verify_contact(self, kith_id: str, verified: bool = True) -> Contact:
        """Mark the safety number as compared (or not)."""
        ...

    def requests(self) -> list[dict[str, Any]]:
        """The contact requests waiting, each with the pair's safety number."""
        ...

    def accept_request(self, kith_id: str) -> Contact:
        """Accept a contact request: the sender becomes a contact."""
        ...

    def decline_request(self, kith_id: str) -> None:
        """Decline a contact request (the sender is not told)."""
        ...

    def block(self, kith_id: str) -> None:
        """Block an ID: its requests are dropped unseen; a contact is removed."""
        ...

    def unblock(self, kith_id: str) -> None:
        """Unblock an ID: its requests arrive again (``not_blocked`` if it was not)."""
        ...

    def settings(self) -> list[SettingState]:
        """Every setting."""
        ...

    def get_setting(self, key: str) -> SettingState:
        """One setting."""
        ...

    def set_setting(self, key: str, text: str) -> SettingState:
        """Set a setting from user-typed text."""
        ...

    def reset_setting(self, key: str) -> SettingState:
        """Return a setting to its default."""
        ...

    def send_message(self, contact: str, text: str, reply_to: str | None = None) -> ChatMessage:
        """Write a message to a contact (queued until it can go out), replying to
        the message ``reply_to`` of that conversation if given."""
        ...

    def messages(self, contact: str, limit: int, before: str | None = None) -> list[ChatMessage]:
        """At most ``limit`` messages with a contact, oldest first (older than ``before``)."""
        ...

    def edit_message(self, message_id: str, text: str) -> ChatMessage:
        """Edit one of our messages."""
        ...

    def delete_message(self, message_id: str) -> None:
        """Delete one of our messages for both sides."""
        ...

    def react(self, message_id: str, emoji: str, add: bool = True) -> ChatMessage:
        """Add (or remove) our reaction to a message."""
        ...

    def search(self, text: str, limit: int = 50) -> list[ChatMessage]:
        """The newest messages of any conversation holding every word of ``text``."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...
