"""Repository of private groups (tables ``groups``, ``group_sender_keys``,
``group_messages``, ``group_reactions``, ``group_receipts``, ``group_outbox``,
``group_change_times``, ``group_held_actions``, ``group_held_frames``):
docs/groups.md.

A group is kept as its log of signed changes (the ``state`` column) and
verified again from it on every load, so a row edited behind Kith's back is
refused rather than trusted; ``name`` and ``version`` are copies for listing.
Sender chains are secrets, as safe as the database (SQLCipher) like the pair
sessions; the messages are the group's history.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import msgspec

from kith.groups.keyring import GroupKeyring
from kith.groups.membership import GroupState, decode_change, encode_change, replay
from kith.groups.sender_keys import OwnChain, PeerChain
from kith.store.connection import Connection

__all__ = ["GroupMessageRecord", "GroupRecord", "GroupRepository", "ReceiptCount"]


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A group as this node holds it; ``active`` is false once we left or were removed."""

    state: GroupState
    active: bool
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the API (members sorted by ID)."""
        state = self.state
        return {
            "id": state.group_id.hex(),
            "name": state.name,
            "version": state.version,
            "active": self.active,
            "members": [{"id": m, "role": r} for m, r in sorted(state.members.items())],
        }


@dataclass(frozen=True, slots=True)
class ReceiptCount:
    """How many of the other members have one of our messages, and have read it."""

    delivered: int
    read: int
    of: int

    def to_json(self) -> dict[str, int]:
        return {"delivered": self.delivered, "read": self.read, "of": self.of}


@dataclass(frozen=True, slots=True)
class GroupMessageRecord:
    """One message of a group's history (ours or a member's); ``reactions`` maps an
    emoji to the members who chose it, ``receipts`` is set on our own messages."""

    group_id: bytes
    id: str
    sender_id: str
    body: str
    sent_at: int
    received_at: float
    edited_at: int | None = None
    deleted: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    receipts: ReceiptCount | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group_id.hex(),
            "id": self.id,
            "sender": self.sender_id,
            "body": self.body,
            "sent_at": self.sent_at,
            "received_at": self.received_at,
            "edited": self.edited_at is not None,
            "edited_at": self.edited_at,
            "deleted": self.deleted,
            "reactions": self.reactions,
            "receipts": None if self.receipts is None else self.receipts.to_json(),
        }


def _encode_log(state: GroupState) -> bytes:
    return msgspec.msgpack.encode([encode_change(c) for c in state.log])


def _decode_log(data: bytes) -> GroupState:
    return replay(decode_change(c) for c in msgspec.msgpack.decode(data, type=list[bytes]))


class GroupRepository:
    """Groups, their sender chains and their messages."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def save(self, state: GroupState, *, active: bool, now: float) -> None:
        """Keep ``state`` (a newer version replaces the row, an older one is ignored);
        the changes newer than the version held so far are noted as applied at ``now``."""
        row = self._conn.execute(
            "SELECT version FROM groups WHERE id = ?", (state.group_id,)
        ).fetchone()
        held = 0 if row is None else int(row[0])
        self._conn.executemany(
            "INSERT INTO group_change_times (group_id, version, applied_at) VALUES (?, ?, ?) "
            "ON CONFLICT (group_id, version) DO NOTHING",
            [(state.group_id, c.version, now) for c in state.log if c.version > held],
        )
        self._conn.execute(
            "INSERT INTO groups (id, name, version, state, active, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "name = excluded.name, version = excluded.version, state = excluded.state, "
            "active = excluded.active, updated_at = excluded.updated_at "
            "WHERE excluded.version >= groups.version",
            (state.group_id, state.name, state.version, _encode_log(state), int(active), now),
        )

    def get(self, group_id: bytes) -> GroupRecord | None:
        row = self._conn.execute(
            "SELECT state, active, updated_at FROM groups WHERE id = ?", (group_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def change_times(self, group_id: bytes) -> dict[int, float]:
        """When this node applied each change of the group, by version (changes applied
        before Kith kept the time are missing)."""
        rows = self._conn.execute(
            "SELECT version, applied_at FROM group_change_times WHERE group_id = ?", (group_id,)
        ).fetchall()
        return {int(version): float(at) for version, at in rows}

    def list(self) -> list[GroupRecord]:
        """Every group, by name."""
        rows = self._conn.execute(
            "SELECT state, active, updated_at FROM groups ORDER BY name, id"
        ).fetchall()
        return [_record(row) for row in rows]

    def ids_named(self, name: str) -> builtins.list[bytes]:
        """IDs of the groups called ``name`` (case-insensitive)."""
        rows = self._conn.execute(
            "SELECT id FROM groups WHERE lower(name) = lower(?) ORDER BY id", (name,)
        ).fetchall()
        return [bytes(row[0]) for row in rows]

    def save_keyring(self, group_id: bytes, keyring: GroupKeyring, *, now: float) -> None:
        """Replace the group's sender chains with ``keyring``'s."""
        self._conn.execute("DELETE FROM group_sender_keys WHERE group_id = ?", (group_id,))
        own = keyring.own
        rows: builtins.list[tuple[Any, ...]] = [
            (group_id, own.sender_id, own.chain_id, 1, own.chain_key, own.iteration,
             own.signing_seed, b"", now),
        ]  # fmt: skip
        for chain in keyring.peers.values():
            rows.append(
                (group_id, chain.sender_id, chain.chain_id, 0, chain.chain_key, chain.iteration,
                 chain.signing_public, msgspec.msgpack.encode(chain.skipped), now)
            )  # fmt: skip
        self._conn.executemany(
            "INSERT INTO group_sender_keys (group_id, sender_id, chain_id, own, chain_key, "
            "iteration, signing_key, skipped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def keyring(self, group_id: bytes) -> GroupKeyring | None:
        """The group's sender chains (None: we hold no own chain for it)."""
        rows = self._conn.execute(
            "SELECT sender_id, chain_id, own, chain_key, iteration, signing_key, skipped "
            "FROM group_sender_keys WHERE group_id = ?",
            (group_id,),
        ).fetchall()
        own: OwnChain | None = None
        peers: dict[tuple[str, bytes], PeerChain] = {}
        for sender, chain_id, is_own, chain_key, iteration, signing, skipped in rows:
            if is_own:
                own = OwnChain(
                    group_id, sender, bytes(chain_id), bytes(chain_key), iteration, bytes(signing)
                )
            else:
                kept = msgspec.msgpack.decode(skipped, type=tuple[tuple[int, bytes], ...])
                peers[(sender, bytes(chain_id))] = PeerChain(
                    group_id, sender, bytes(chain_id), bytes(chain_key), iteration,
                    bytes(signing), kept,
                )  # fmt: skip
        return None if own is None else GroupKeyring(own, MappingProxyType(peers))

    def add_message(self, message: GroupMessageRecord) -> bool:
        """Keep a message; False when one with its ID is kept already."""
        m = message
        cur = self._conn.execute(
            "INSERT INTO group_messages (group_id, id, sender_id, body, sent_at, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, id) DO NOTHING",
            (m.group_id, m.id, m.sender_id, m.body, m.sent_at, m.received_at),
        )
        return bool(cur.rowcount)

    def messages(
        self, group_id: bytes, *, limit: int = 200, before: str | None = None
    ) -> builtins.list[GroupMessageRecord]:
        """The group's latest ``limit`` messages (those before message ``before``, if
        given, in (sent_at, id) order; none if it is not held), oldest first, with
        their reactions (receipt counts: :meth:`receipt_counts`)."""
        where, args = "", list[bytes | str]()
        if before is not None:
            where = (
                " AND (sent_at, id) < (SELECT sent_at, id FROM group_messages "
                "WHERE group_id = ? AND id = ?)"
            )
            args = [group_id, before]
        rows = self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM group_messages "
            f"WHERE group_id = ?{where} ORDER BY sent_at DESC, id DESC LIMIT ?",
            (group_id, *args, limit),
        ).fetchall()
        found = [_message(row) for row in reversed(rows)]
        reactions = self._reactions(group_id, [m.id for m in found])
        return [replace(m, reactions=reactions.get(m.id, {})) for m in found]

    def message(self, group_id: bytes, message_id: str) -> GroupMessageRecord | None:
        """One message with its reactions."""
        row = self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM group_messages WHERE group_id = ? AND id = ?",
            (group_id, message_id),
        ).fetchone()
        if row is None:
            return None
        found = _message(row)
        return replace(found, reactions=self._reactions(group_id, [found.id]).get(found.id, {}))

    def edit_message(self, group_id: bytes, message_id: str, text: str, edited_at: int) -> None:
        self._conn.execute(
            "UPDATE group_messages SET body = ?, edited_at = ? WHERE group_id = ? AND id = ?",
            (text, edited_at, group_id, message_id),
        )

    def delete_message(self, group_id: bytes, message_id: str) -> None:
        """Drop a message's text and reactions (the row stays, marked deleted)."""
        self._conn.execute(
            "UPDATE group_messages SET body = '', deleted = 1 WHERE group_id = ? AND id = ?",
            (group_id, message_id),
        )
        self._conn.execute(
            "DELETE FROM group_reactions WHERE group_id = ? AND message_id = ?",
            (group_id, message_id),
        )

    def react(
        self, group_id: bytes, message_id: str, member_id: str, emoji: str, *, add: bool
    ) -> None:
        """Add or remove a member's reaction (idempotent)."""
        if add:
            self._conn.execute(
                "INSERT INTO group_reactions (group_id, message_id, member_id, emoji) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (group_id, message_id, member_id, emoji),
            )
        else:
            self._conn.execute(
                "DELETE FROM group_reactions WHERE group_id = ? AND message_id = ? "
                "AND member_id = ? AND emoji = ?",
                (group_id, message_id, member_id, emoji),
            )

    def _reactions(
        self, group_id: bytes, ids: builtins.list[str]
    ) -> dict[str, dict[str, builtins.list[str]]]:
        out: dict[str, dict[str, builtins.list[str]]] = {}
        for chunk in _chunks(ids):
            rows = self._conn.execute(
                "SELECT message_id, emoji, member_id FROM group_reactions WHERE group_id = ? "
                f"AND message_id IN ({','.join('?' * len(chunk))}) ORDER BY emoji, member_id",
                (group_id, *chunk),
            ).fetchall()
            for message_id, emoji, member_id in rows:
                out.setdefault(str(message_id), {}).setdefault(str(emoji), []).append(
                    str(member_id)
                )
        return out

    def record_receipt(
        self,
        group_id: bytes,
        sender_id: str,
        member_id: str,
        ids: Sequence[str],
        *,
        read: bool,
        now: float,
    ) -> None:
        """``member_id`` has (or read: ``read``) the messages ``ids`` of ``sender_id``
        (IDs of other senders' messages are ignored); a read message is delivered too."""
        for chunk in _chunks(list(ids)):
            marks = ",".join("?" * len(chunk))
            self._conn.execute(
                "INSERT INTO group_receipts (group_id, message_id, member_id, delivered_at, "
                "read_at) SELECT group_id, id, ?, ?, ? FROM group_messages WHERE group_id = ? "
                f"AND sender_id = ? AND id IN ({marks}) ON CONFLICT DO UPDATE SET "
                "delivered_at = coalesce(group_receipts.delivered_at, excluded.delivered_at), "
                "read_at = coalesce(group_receipts.read_at, excluded.read_at)",
                (member_id, now, now if read else None, group_id, sender_id, *chunk),
            )

    def unread(self, group_id: bytes, reader_id: str, ids: Sequence[str]) -> builtins.list[str]:
        """Which of ``ids`` are other senders' messages ``reader_id`` has not read."""
        out: builtins.list[str] = []
        for chunk in _chunks(list(ids)):
            rows = self._conn.execute(
                "SELECT m.id FROM group_messages m LEFT JOIN group_receipts r ON "
                "r.group_id = m.group_id AND r.message_id = m.id AND r.member_id = ? "
                "WHERE m.group_id = ? AND m.sender_id != ? AND r.read_at IS NULL "
                f"AND m.id IN ({','.join('?' * len(chunk))})",
                (reader_id, group_id, reader_id, *chunk),
            ).fetchall()
            out.extend(str(r[0]) for r in rows)
        return out

    def receipt_counts(
        self, group_id: bytes, ids: Sequence[str], members: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        """For each of ``ids``, how many of ``members`` have it, and have read it."""
        out: dict[str, tuple[int, int]] = {}
        if not members:
            return out
        who = ",".join("?" * len(members))
        for chunk in _chunks(list(ids)):
            rows = self._conn.execute(
                "SELECT message_id, count(delivered_at), count(read_at) FROM group_receipts "
                f"WHERE group_id = ? AND member_id IN ({who}) "
                f"AND message_id IN ({','.join('?' * len(chunk))}) GROUP BY message_id",
                (group_id, *members, *chunk),
            ).fetchall()
            for message_id, delivered, read in rows:
                out[str(message_id)] = (int(delivered), int(read))
        return out

    def outbox_put(
        self, items: Sequence[tuple[str, bytes]]
    ) -> builtins.list[tuple[str, int, bytes]]:
        """Queue frames for members, each after the member's last; return them with their
        sequence numbers."""
        out: builtins.list[tuple[str, int, bytes]] = []
        last: dict[str, int] = {}
        for contact_id, frame in items:
            if contact_id not in last:
                row = self._conn.execute(
                    "SELECT max(seq) FROM group_outbox WHERE contact_id = ?", (contact_id,)
                ).fetchone()
                last[contact_id] = int(row[0] or 0)
            last[contact_id] += 1
            out.append((contact_id, last[contact_id], frame))
        self._conn.executemany(
            "INSERT INTO group_outbox (contact_id, seq, frame) VALUES (?, ?, ?)", out
        )
        return out

    def outbox(self, contact_id: str) -> builtins.list[tuple[int, bytes]]:
        """The frames waiting for a member, in order."""
        rows = self._conn.execute(
            "SELECT seq, frame FROM group_outbox WHERE contact_id = ? ORDER BY seq", (contact_id,)
        ).fetchall()
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def outbox_ack(self, contact_id: str, seq: int) -> bool:
        """The member holds every frame up to ``seq``; whether any still wait."""
        self._conn.execute(
            "DELETE FROM group_outbox WHERE contact_id = ? AND seq <= ?", (contact_id, seq)
        )
        row = self._conn.execute(
            "SELECT 1 FROM group_outbox WHERE contact_id = ? LIMIT 1", (contact_id,)
        ).fetchone()
        return row is not None

    def outbox_contacts(self) -> set[str]:
        """Members frames wait for."""
        rows = self._conn.execute("SELECT DISTINCT contact_id FROM group_outbox").fetchall()
        return {str(r[0]) for r in rows}

    def hold_action(
        self,
        group_id: bytes,
        message_id: str,
        sender_id: str,
        action: bytes,
        *,
        now: float,
        keep: int,
    ) -> None:
        """Keep a member's action (encoded content) on a message not held yet, until
        :meth:`take_held_actions`; past ``keep`` held in the group, the oldest go."""
        self._conn.execute(
            "INSERT INTO group_held_actions (group_id, message_id, sender_id, action, held_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (group_id, message_id, sender_id, action, now),
        )
        self._conn.execute(
            "DELETE FROM group_held_actions WHERE group_id = ? AND id NOT IN "
            "(SELECT id FROM group_held_actions WHERE group_id = ? ORDER BY id DESC LIMIT ?)",
            (group_id, group_id, keep),
        )

    def take_held_actions(
        self, group_id: bytes, message_id: str, *, since: float
    ) -> builtins.list[tuple[str, bytes]]:
        """Remove the actions held for a message and return those held at or after
        ``since`` (sender, encoded content), in the order they arrived."""
        rows = self._conn.execute(
            "SELECT sender_id, action, held_at FROM group_held_actions "
            "WHERE group_id = ? AND message_id = ? ORDER BY id",
            (group_id, message_id),
        ).fetchall()
        if rows:
            self._conn.execute(
                "DELETE FROM group_held_actions WHERE group_id = ? AND message_id = ?",
                (group_id, message_id),
            )
        return [(str(r[0]), bytes(r[1])) for r in rows if float(r[2]) >= since]

    def held_actions(self, group_id: bytes) -> int:
        """How many actions wait for their message in the group."""
        row = self._conn.execute(
            "SELECT count(*) FROM group_held_actions WHERE group_id = ?", (group_id,)
        ).fetchone()
        return int(row[0])

    def expire_held_actions(self, before: float) -> int:
        """Drop the actions held before ``before``; return how many."""
        cursor = self._conn.execute("DELETE FROM group_held_actions WHERE held_at < ?", (before,))
        return int(cursor.rowcount)

    def hold_frame(
        self,
        group_id: bytes,
        sender_id: str,
        frame: bytes,
        *,
        now: float,
        keep: int,
        since: float,
    ) -> tuple[int, int]:
        """Keep a member's group frame (a sender key or sealed message, encoded) that came
        before what it needs, until :meth:`drop_held_frame`; the group's frames held
        before ``since`` go, then past ``keep`` held in the group the oldest go. Return
        how many went for each reason (too old, too many)."""
        old = self._conn.execute(
            "DELETE FROM group_held_frames WHERE group_id = ? AND held_at < ?", (group_id, since)
        ).rowcount
        self._conn.execute(
            "INSERT INTO group_held_frames (group_id, sender_id, frame, held_at) "
            "VALUES (?, ?, ?, ?)",
            (group_id, sender_id, frame, now),
        )
        over = self._conn.execute(
            "DELETE FROM group_held_frames WHERE group_id = ? AND id NOT IN "
            "(SELECT id FROM group_held_frames WHERE group_id = ? ORDER BY id DESC LIMIT ?)",
            (group_id, group_id, keep),
        ).rowcount
        return int(old), int(over)

    def held_frames(self, group_id: bytes) -> builtins.list[tuple[int, str, bytes]]:
        """The frames held for the group, in the order they arrived (row ID, sender,
        frame)."""
        rows = self._conn.execute(
            "SELECT id, sender_id, frame FROM group_held_frames WHERE group_id = ? ORDER BY id",
            (group_id,),
        ).fetchall()
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def drop_held_frame(self, frame_id: int) -> None:
        """A held frame was applied or refused: forget it."""
        self._conn.execute("DELETE FROM group_held_frames WHERE id = ?", (frame_id,))

    def expire_held_frames(self, before: float) -> int:
        """Drop the frames held before ``before``; return how many."""
        cursor = self._conn.execute("DELETE FROM group_held_frames WHERE held_at < ?", (before,))
        return int(cursor.rowcount)


def _record(row: Sequence[Any]) -> GroupRecord:
    return GroupRecord(_decode_log(bytes(row[0])), bool(row[1]), float(row[2]))


_MESSAGE_COLUMNS = "group_id, id, sender_id, body, sent_at, received_at, edited_at, deleted"
_CHUNK = 400


def _chunks(ids: builtins.list[str]) -> builtins.list[builtins.list[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def _message(row: Sequence[Any]) -> GroupMessageRecord:
    return GroupMessageRecord(
        bytes(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        int(row[4]),
        float(row[5]),
        None if row[6] is None else int(row[6]),
        bool(row[7]),
    )
