"""The node's side of the sealed offline mailbox (``docs/p2p.md``, "Offline mailbox").

:class:`MailboxCourier` seals chat frames for a contact who cannot be reached
(to the mailbox key they announced, else to their identity key: see
:mod:`kith.runtime.chat.mailbox_keyring`) and deposits them on the pair's
outbound mailbox topic (each outbox entry once
per run: the receiver deduplicates by message ID, so a deposit repeated after a
restart is harmless), fetches our inbound mailbox of a contact and opens its
items, and acknowledges what the caller has stored. It decides nothing about
conversations: the chat driver feeds the opened frames to them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kith.contacts import contact_label
from kith.runtime.chat.mailbox_keyring import MAILBOX_MAX_AGE, MailboxKeyring
from kith.signaling import MailboxBatch, PayloadTooLarge, SignalingError
from kith_proto import wire
from kith_proto.mailbox_seal import MailboxItemError, RotatingKeyPair
from kith_proto.pair import PairChannel

__all__ = ["MAILBOX_MAX_AGE", "MailboxCourier", "MailboxPort", "OpenedBatch"]


class MailboxPort(Protocol):
    """The signaling client's mailbox requests."""

    async def mailbox_deposit(self, topic: bytes, item: bytes, timeout: float = ...) -> None:  # noqa: ASYNC109
        """Store a sealed item on ``topic``."""
        ...

    async def mailbox_fetch(self, token: bytes, timeout: float = ...) -> MailboxBatch:  # noqa: ASYNC109
        """The oldest items of the mailbox ``token`` opens."""
        ...

    async def mailbox_ack(self, token: bytes, ids: Iterable[int], timeout: float = ...) -> None:  # noqa: ASYNC109
        """Delete these items."""
        ...


@dataclass(frozen=True)
class OpenedBatch:
    """A fetched batch, opened: ``frames`` as ``(id, chat frame)`` pairs in
    order, and ``dropped``, the IDs of items that did not open (to acknowledge
    away); ``more`` when the server holds more."""

    frames: list[tuple[int, bytes]] = field(repr=False)
    dropped: list[int]
    more: bool


class MailboxCourier:
    """Deposits, fetches and acknowledges mailbox items.

    Args:
        port: The signaling client.
        keys: Our rotating mailbox keys and the contacts' announced ones.
        clock: Wall-clock seconds.
        log: Where problems go (codes and contacts' labels, never content).
        max_age: Seconds after which an item is refused as stale.
    """

    def __init__(
        self,
        port: MailboxPort,
        keys: MailboxKeyring,
        clock: Callable[[], float],
        log: logging.Logger,
        max_age: float = MAILBOX_MAX_AGE,
    ) -> None:
        self._port = port
        self.keys = keys
        """The mailbox keys (announcing and taking announcements is :class:`MailboxSync`'s)."""
        self.dropped: Counter[str] = Counter()
        """Items that did not open since the start, by code (``unknown_key``, ``tampered``, …)."""
        self._clock = clock
        self._log = log
        self._max_age = max_age
        self._deposited: set[tuple[str, str]] = set()
        self._available = True

    @property
    def available(self) -> bool:
        """False once the server said it keeps no mailbox (until :meth:`connected`)."""
        return self._available

    def connected(self) -> None:
        """A new connection: the server may keep a mailbox now."""
        self._available = True

    def _refused(self, exc: Exception) -> bool:
        """Note a server without a mailbox (said once); whether that was it."""
        if getattr(exc, "code", None) != wire.ErrorCode.MAILBOX_UNAVAILABLE:
            return False
        if self._available:
            self._available = False
            self._log.info(
                "the signaling server keeps no mailbox (kith-signal --data-dir): "
                "messages for offline contacts wait until both are online"
            )
        return True

    def was_deposited(self, contact_id: str, entry_id: str) -> bool:
        """Whether this run deposited the outbox entry ``entry_id`` already."""
        return (contact_id, entry_id) in self._deposited

    async def deposit(
        self, contact_id: str, pair: PairChannel, frame: bytes, entry_id: str | None = None
    ) -> bool:
        """Seal ``frame`` and leave it in the contact's mailbox; False if it
        could not be (logged; the outbox keeps the frame). An ``entry_id``
        already deposited is not deposited again."""
        if not self._available:
            return False
        key = (contact_id, entry_id) if entry_id is not None else None
        if key is not None:
            if key in self._deposited:
                return True
            self._deposited.add(key)
        try:
            recipient = await self.keys.recipient(contact_id)
            item = pair.seal_mailbox_item(frame, int(self._clock() * 1000), recipient)
            await self._port.mailbox_deposit(pair.mailbox_out_topic.raw, item)
        except (SignalingError, MailboxItemError, PayloadTooLarge) as exc:
            if key is not None:
                self._deposited.discard(key)
            if self._refused(exc):
                return False
            self._log.info(
                "could not leave a mailbox item for %s (%s)", contact_label(contact_id), _code(exc)
            )
            return False
        return True

    def forget(self, contact_id: str, entry_ids: Iterable[str]) -> None:
        """These entries left the outbox (receipted): nothing more to remember."""
        for entry_id in entry_ids:
            self._deposited.discard((contact_id, entry_id))

    async def fetch(self, contact_id: str, pair: PairChannel) -> OpenedBatch:
        """The oldest items the contact left for us, opened.

        Raises:
            SignalingError: The fetch failed (try again at the next chance).
        """
        try:
            batch = await self._port.mailbox_fetch(pair.mailbox_in_token)
        except SignalingError as exc:
            self._refused(exc)
            raise
        own = await self.keys.own(contact_id) if batch.items else {}
        return self.open(contact_id, pair, batch, own)

    def open(
        self,
        contact_id: str,
        pair: PairChannel,
        batch: MailboxBatch,
        own: Mapping[bytes, RotatingKeyPair],
    ) -> OpenedBatch:
        """Open every item of ``batch`` with our mailbox keys for the contact
        (``own``, by key ID) or our identity key; one that fails is counted,
        logged with its code and listed in ``dropped``."""
        floor = int((self._clock() - self._max_age) * 1000)
        frames: list[tuple[int, bytes]] = []
        dropped: list[int] = []
        for item_id, item in batch.items:
            try:
                frames.append((item_id, pair.open_mailbox_item(item, floor, own)))
            except MailboxItemError as exc:
                dropped.append(item_id)
                code = _code(exc)
                self.dropped[code] += 1
                self._log.warning(
                    "dropped a mailbox item from %s (%s; %d so far): %s",
                    contact_label(contact_id),
                    code,
                    self.dropped[code],
                    exc,
                )
        return OpenedBatch(frames, dropped, batch.more)

    async def ack(self, pair: PairChannel, ids: Iterable[int]) -> None:
        """Delete these items from our mailbox (stored or unreadable).

        Raises:
            SignalingError: The acknowledgement failed (they come again).
        """
        ids = list(ids)
        if ids:
            await self._port.mailbox_ack(pair.mailbox_in_token, ids)


def _code(exc: Exception) -> str:
    """A short code for a failure: the server's code, or the error's kind."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    name = type(exc).__name__.removesuffix("Error")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
