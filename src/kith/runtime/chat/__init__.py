"""The chat side of the running node.

- :mod:`~kith.runtime.chat.driver`: :class:`ChatDriver`, every conversation
  wired to presence news, the relay, the store and live events;
- :mod:`~kith.runtime.chat.peer`: :class:`ChatPeer`, one contact's
  conversation, peer link and secure channel;
- :mod:`~kith.runtime.chat.peer_state`: the peer's state machine (pure);
- :mod:`~kith.runtime.chat.directory`: peers by contact, topic or message;
- :mod:`~kith.runtime.chat.connector`: when to connect, the invisible rules;
- :mod:`~kith.runtime.chat.committer`: persist, then act;
- :mod:`~kith.runtime.chat.recovery`: rebuilding after a failed save;
- :mod:`~kith.runtime.chat.mailbox_sync`: when the sealed offline mailbox is
  used (deposit, fetch, sweep, receipts owed);
- :mod:`~kith.runtime.chat.mailbox`: the mailbox courier (sealing, requests);
- :mod:`~kith.runtime.chat.mailbox_keyring`: our rotating mailbox keys per
  contact and the ones contacts announced;
- :mod:`~kith.runtime.chat.link_factory`: how a peer link is made;
- :mod:`~kith.runtime.chat.live`: chat events for the UI stream;
- :mod:`~kith.runtime.chat.service`: the user's chat operations.
"""

import importlib
from typing import Any

__all__ = ["ChatDriver", "ChatOptions", "ChatService"]

_WHERE = {
    "ChatDriver": "kith.runtime.chat.driver",
    "ChatOptions": "kith.runtime.chat.link_factory",
    "ChatService": "kith.runtime.chat.service",
}


def __getattr__(name: str) -> Any:
    """Import a public name on first use (``kith.runtime.live`` imports the
    chat's live events while the driver imports the hub)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kith.runtime.chat' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
