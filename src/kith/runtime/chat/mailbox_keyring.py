"""Rotating mailbox keys: ours per contact, and the ones contacts announced
(``docs/p2p.md``, "Offline mailbox", forward secrecy).

Each contact gets its own X-Wing key pair from us (one per contact, not one
for all: a shared key, or its ID in every item, would let the server or
colluding contacts link our mailboxes). When a direct channel to the
contact opens we announce the current public key over it; the key is
replaced when it is older than :data:`ROTATE_AFTER` at such an announcement.
A replaced private key is kept for :data:`KEEP_RETIRED` (the mailbox TTL, so
every item sealed to it can still be fetched, plus :data:`GRACE` for clock
skew and late fetches), then deleted from the store.

The :class:`MailboxKeyring` reads and writes the store; the sealing itself is
:mod:`kith_proto.mailbox_seal`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from kith.runtime.store_writer import StoreRunner
from kith.store.store import Store
from kith_proto.mailbox_seal import (
    BadMailboxKeyError,
    RotatingKeyPair,
    RotatingPublicKey,
)

__all__ = [
    "GRACE",
    "KEEP_RETIRED",
    "MAILBOX_MAX_AGE",
    "PURGE_EVERY",
    "ROTATE_AFTER",
    "BadMailboxKeyError",
    "MailboxKeyring",
]

MAILBOX_MAX_AGE: Final = 14 * 24 * 3600.0
"""Items sent longer ago than this (the server's default ``--mailbox-ttl``) are stale: replayed."""
ROTATE_AFTER: Final = 24 * 3600.0
"""A key older than this is replaced at the next announcement (the next direct channel)."""
GRACE: Final = 24 * 3600.0
"""Kept beyond the TTL: clock skew between the nodes, a fetch under way."""
KEEP_RETIRED: Final = MAILBOX_MAX_AGE + GRACE
"""How long a replaced private key is kept: then nothing sealed to it can be fetched."""
PURGE_EVERY: Final = 3600.0
"""How often expired private keys are looked for (also at each announcement)."""


class MailboxKeyring:
    """Our rotating mailbox keys and the contacts' announced ones.

    Args:
        store: The node's store.
        clock: Wall-clock seconds.
        rotate_after: Seconds after which our key for a contact is replaced.
        keep_retired: Seconds a replaced private key is kept.
    """

    def __init__(
        self,
        store: StoreRunner,
        clock: Callable[[], float],
        *,
        rotate_after: float = ROTATE_AFTER,
        keep_retired: float = KEEP_RETIRED,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rotate_after = rotate_after
        self._keep_retired = keep_retired
        self._recipients: dict[str, RotatingPublicKey | None] = {}
        self._last_purge: float | None = None

    async def _run(self, fn: Callable[[Store], Any]) -> Any:
        return await self._store.run(fn)

    async def current(self, contact_id: str) -> RotatingPublicKey:
        """Our key for the contact to announce now: a new one if there is none
        or it is due; expired ones are deleted on the way."""
        now = self._clock()
        rotate_after, bound = self._rotate_after, now - self._keep_retired

        def work(store: Store) -> bytes:
            with store.transaction():
                keys = store.mailbox_keys.own(contact_id)
                current = next((k for k in keys if k.retired_at is None), None)
                if current is not None and now - current.created_at < rotate_after:
                    private = current.private
                else:
                    pair = RotatingKeyPair.generate()
                    store.mailbox_keys.add_own(contact_id, pair.key_id, pair.private, now)
                    private = pair.private
            store.mailbox_keys.purge_own(bound)
            return private

        private: bytes = await self._run(work)
        self._last_purge = now
        return RotatingKeyPair(private).public_key()

    async def own(self, contact_id: str) -> dict[bytes, RotatingKeyPair]:
        """Our key pairs for the contact still held, by key ID."""
        rows = await self._run(lambda store: store.mailbox_keys.own(contact_id))
        return {row.key_id: RotatingKeyPair(row.private) for row in rows}

    async def purge(self, *, force: bool = False) -> int:
        """Delete the private keys replaced longer than ``keep_retired`` ago
        (at most every :data:`PURGE_EVERY` unless ``force``); how many."""
        now = self._clock()
        if not force and self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return 0
        self._last_purge = now
        bound = now - self._keep_retired
        deleted: int = await self._run(lambda store: store.mailbox_keys.purge_own(bound))
        return deleted

    async def recipient(self, contact_id: str) -> RotatingPublicKey | None:
        """The newest key the contact announced (None: seal to their identity key)."""
        if contact_id not in self._recipients:
            row = await self._run(lambda store: store.mailbox_keys.peer(contact_id))
            if contact_id not in self._recipients:  # not announced meanwhile
                self._recipients[contact_id] = (
                    None if row is None else RotatingPublicKey(row.public)
                )
        return self._recipients[contact_id]

    async def announced(self, contact_id: str, public: bytes) -> RotatingPublicKey | None:
        """The contact announced ``public``: seal their items to it from now on.
        The key if it is new (None: the key already held).

        Raises:
            BadMailboxKeyError: Not an X-Wing public key (nothing is changed).
        """
        key = RotatingPublicKey.parse(public)
        if await self.recipient(contact_id) == key:
            return None
        now = self._clock()
        await self._run(
            lambda store: store.mailbox_keys.set_peer(contact_id, key.key_id, key.public, now)
        )
        self._recipients[contact_id] = key
        return key
