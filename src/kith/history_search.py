"""Search across every conversation: the store's full-text index, as API messages.

Used by both backends (the node's chat driver and the direct one), so that
``kith search`` answers the same with or without a running node.
"""

from __future__ import annotations

from kith.conversation_store import ChatMessage
from kith.store import Store

__all__ = ["DEFAULT_RESULTS", "search_history"]

DEFAULT_RESULTS = 50


def search_history(
    store: Store, own_id: str, text: str, limit: int = DEFAULT_RESULTS
) -> list[ChatMessage]:
    """The newest messages holding every word of ``text`` (each with its ``contact``).

    Raises:
        KithError: ``bad_search`` for empty, overlong or out-of-range input.
    """
    hits = store.search.search(text, limit=limit)
    return [ChatMessage.of(hit.message, own_id, hit.contact_id) for hit in hits]
