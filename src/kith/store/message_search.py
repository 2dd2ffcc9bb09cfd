"""Full-text search over chat history (the FTS5 table ``message_search``).

The index lives inside the encrypted database and holds the text of every
message that is not deleted; triggers on ``messages`` keep it in step (schema
versions 8, 23 and 24). A new or edited message is indexed in a batch, not in the
transaction that stored it: its number waits in ``message_search_pending``
(one small row) until a search runs (:meth:`SearchRepository.search` indexes
everything waiting first, so a search never misses a message) or until a
waiting message's number is a multiple of 256 (a trigger indexes every
waiting one). Flushing FTS5 at every commit wrote several pages for each
batch of messages; this way the messaging path writes one small row per
message. An edit or delete takes the old text out of the index at once.

User text never reaches FTS5's query language: :func:`match_expression`
quotes every word, so operators, quotes and brackets a user types are
searched for as text, never parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from kith.chat.model import Message
from kith.errors import KithError
from kith.store.connection import Connection
from kith.store.messages import message_from_row

__all__ = ["MAX_QUERY_CHARS", "MAX_RESULTS", "SearchHit", "SearchRepository", "match_expression"]

_INDEX_WAITING: Final = (
    # By number (the INTEGER PRIMARY KEY), never a scan of every message (schema step 24).
    "INSERT INTO message_search (rowid, text) SELECT n, text FROM messages "
    "WHERE n IN (SELECT n FROM message_search_pending) AND deleted = 0",
    "DELETE FROM message_search_pending",
)
MAX_QUERY_CHARS: Final = 200
MAX_RESULTS: Final = 200
_MAX_WORDS: Final = 16


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One message that matches a search, with the conversation it belongs to."""

    contact_id: str
    message: Message


def _bad_query(message: str) -> KithError:
    return KithError(message, code="bad_search")


def match_expression(text: str) -> str:
    """The FTS5 expression for what a user typed: every word must appear.

    Each word is a quoted string (``"`` doubled inside), the last one a prefix,
    so ``"ab" AND "c"*`` matches "abc cd" as the user types.

    Raises:
        KithError: ``bad_search`` when the text is empty, too long or has too many words.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise _bad_query(f"the search is too long (at most {MAX_QUERY_CHARS} characters)")
    words = [w for w in text.split() if any(c.isalnum() for c in w)]
    if not words:
        raise _bad_query("type at least one word (letters or digits) to search for")
    if len(words) > _MAX_WORDS:
        raise _bad_query(f"the search has too many words (at most {_MAX_WORDS})")
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " AND ".join(quoted)


class SearchRepository:
    """Searches the messages of every conversation, newest first."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def search(
        self, text: str, *, limit: int = 50, contact_id: str | None = None
    ) -> list[SearchHit]:
        """At most ``limit`` live messages containing every word of ``text``, newest first.

        Raises:
            KithError: ``bad_search`` for empty, overlong or out-of-range input.
        """
        if not 1 <= limit <= MAX_RESULTS:
            raise _bad_query(f"the result limit must be 1 to {MAX_RESULTS}")
        where, params = "", [match_expression(text)]
        self.index_waiting()
        if contact_id is not None:
            where, params = "AND m.contact_id = ?", [*params, contact_id]
        rows = self._conn.execute(
            "SELECT m.contact_id, m.id, m.sender, m.text, m.sent_at, m.state, m.seq, "
            "m.edited_at, m.deleted, m.reactions, m.reply_to, m.via FROM message_search s "
            f"JOIN messages m ON m.n = s.rowid WHERE message_search MATCH ? {where} "
            "ORDER BY s.rowid DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [_hit(row) for row in rows]

    def waiting(self) -> int:
        """How many messages wait for the search index."""
        row = self._conn.execute("SELECT count(*) FROM message_search_pending").fetchone()
        return int(row[0])

    def index_waiting(self) -> int:
        """Index every message waiting for the search index, in one savepoint
        (a transaction of its own outside one); return how many were waiting."""
        waiting = self.waiting()
        if not waiting:
            return 0
        self._conn.execute("SAVEPOINT index_waiting")
        try:
            for statement in _INDEX_WAITING:
                self._conn.execute(statement)
        except BaseException:
            self._conn.execute("ROLLBACK TO index_waiting")
            self._conn.execute("RELEASE index_waiting")
            raise
        self._conn.execute("RELEASE index_waiting")
        return waiting


def _hit(row: Sequence[Any]) -> SearchHit:
    return SearchHit(contact_id=str(row[0]), message=message_from_row(row))
