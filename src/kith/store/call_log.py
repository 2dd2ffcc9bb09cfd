"""Repository of ended calls (table ``call_log``): what the chat history shows of calls.

One row per call, ours or a contact's, written when it ends: direction,
audio or video, outcome (answered, missed, declined, unanswered, failed),
the reason and how long media flowed. Nothing of the media or its set-up.

A call of ours that could not reach the contact owes their node a missed-call
notice (``kith.calls.frames.Missed``). It stays owed across restarts until it
has been sent: a row of ``node_state`` keyed ``call_notice:<call id>`` marks it
(the call's own row says who, audio or video, and when), so no table is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kith.store.connection import Connection

__all__ = ["NOTICE_KEY", "CallLogRepository", "CallRecord"]

_COLUMNS = "id, contact_id, direction, video, outcome, reason, duration, started_at, ended_at"
NOTICE_KEY = "call_notice:"
"""Prefix of the ``node_state`` key that marks a call whose missed-call notice is owed."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One ended call."""

    id: str
    contact_id: str
    direction: Literal["out", "in"]
    video: bool
    outcome: str
    reason: str
    duration: float
    started_at: float
    ended_at: float

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the API."""
        return {
            "id": self.id,
            "contact": self.contact_id,
            "direction": self.direction,
            "video": self.video,
            "outcome": self.outcome,
            "reason": self.reason,
            "duration": round(self.duration, 1),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }


def _record(row: Sequence[Any]) -> CallRecord:
    return CallRecord(
        id=str(row[0]),
        contact_id=str(row[1]),
        direction="out" if row[2] == "out" else "in",
        video=bool(row[3]),
        outcome=str(row[4]),
        reason=str(row[5]),
        duration=float(row[6]),
        started_at=float(row[7]),
        ended_at=float(row[8]),
    )


class CallLogRepository:
    """Ended calls, per contact, oldest first."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: CallRecord, *, notice: bool = False) -> None:
        """Keep one ended call (a second record with the same ID is ignored); with
        ``notice``, the contact's node is owed a missed-call notice for it."""
        r = record
        self._conn.execute(
            f"INSERT INTO call_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (
                r.id, r.contact_id, r.direction, int(r.video), r.outcome, r.reason,
                r.duration, r.started_at, r.ended_at,
            ),
        )  # fmt: skip
        if notice:
            self._conn.execute(
                "INSERT INTO node_state (key, value) VALUES (?, 1) ON CONFLICT (key) DO NOTHING",
                (NOTICE_KEY + r.id,),
            )

    def notices(self) -> list[CallRecord]:
        """The calls whose missed-call notice is still owed, oldest first."""
        rows = self._conn.execute(
            f"SELECT {', '.join('c.' + c for c in _COLUMNS.split(', '))} FROM call_log AS c "
            "JOIN node_state AS s ON s.key = ? || c.id ORDER BY c.started_at",
            (NOTICE_KEY,),
        ).fetchall()
        return [_record(row) for row in rows]

    def notices_sent(self, call_ids: Sequence[str]) -> int:
        """The missed-call notices of ``call_ids`` went out: no longer owed (how many were)."""
        return sum(
            self._conn.execute(
                "DELETE FROM node_state WHERE key = ?", (NOTICE_KEY + call_id,)
            ).rowcount
            for call_id in call_ids
        )

    def list(self, contact_id: str, limit: int = 100) -> list[CallRecord]:
        """The last ``limit`` calls with a contact, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM call_log WHERE contact_id = ? "
            "ORDER BY started_at DESC LIMIT ?",
            (contact_id, limit),
        ).fetchall()
        return [_record(row) for row in reversed(rows)]

    def delete_contact(self, contact_id: str) -> int:
        """Forget every call with a contact (and notices owed to them); return how many."""
        self._conn.execute(
            "DELETE FROM node_state WHERE key IN "
            "(SELECT ? || id FROM call_log WHERE contact_id = ?)",
            (NOTICE_KEY, contact_id),
        )
        return self._conn.execute(
            "DELETE FROM call_log WHERE contact_id = ?", (contact_id,)
        ).rowcount
