"""MailboxCourier with an in-memory port: sealing, dedup, opening, dropping."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pytest

from kith.runtime.chat.mailbox import MAILBOX_MAX_AGE, MailboxCourier
from kith.signaling import MailboxBatch, MailboxRefused
from kith_proto import IdentityKeys
from kith_proto.pair import PairChannel

NOW = 1_800_000_000.0
ALICE, BOB = IdentityKeys.generate(), IdentityKeys.generate()
TO_BOB, FROM_ALICE = PairChannel(ALICE, BOB.public_key), PairChannel(BOB, ALICE.public_key)


class MemoryPort:
    """The server's mailbox in a list; ``refuse`` makes deposits fail."""

    def __init__(self) -> None:
        self.items: list[tuple[int, bytes, bytes]] = []
        self.refuse = False

    async def mailbox_deposit(self, topic: bytes, item: bytes, timeout: float = 1) -> None:  # noqa: ASYNC109
        if self.refuse:
            raise MailboxRefused("mailbox_full", "full")
        self.items.append((len(self.items) + 1, topic, item))

    async def mailbox_fetch(self, token: bytes, timeout: float = 1) -> MailboxBatch:  # noqa: ASYNC109
        return MailboxBatch(tuple((i, item) for i, _, item in self.items), False)

    async def mailbox_ack(self, token: bytes, ids: Iterable[int], timeout: float = 1) -> None:  # noqa: ASYNC109
        gone = set(ids)
        self.items = [entry for entry in self.items if entry[0] not in gone]


def _courier(port: MemoryPort, now: float = NOW) -> MailboxCourier:
    return MailboxCourier(port, lambda: now, logging.getLogger("test"))


async def test_a_deposited_frame_opens_for_the_recipient_only() -> None:
    port = MemoryPort()
    assert await _courier(port).deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert port.items[0][1] == TO_BOB.mailbox_out_topic.raw == FROM_ALICE.mailbox_in_topic.raw
    opened = await _courier(port).fetch(ALICE.kith_id, FROM_ALICE)
    assert (opened.frames, opened.dropped) == ([(1, b"frame")], [])


async def test_an_outbox_entry_is_deposited_once() -> None:
    port = MemoryPort()
    courier = _courier(port)
    await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert len(port.items) == 1
    assert courier.was_deposited(BOB.kith_id, "e1")


async def test_a_refused_deposit_is_tried_again_later(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = MemoryPort()
    courier = _courier(port)
    port.refuse = True
    assert not await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert not courier.was_deposited(BOB.kith_id, "e1")
    assert "mailbox_full" in caplog.text
    port.refuse = False
    assert await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert len(port.items) == 1


async def test_a_tampered_item_is_dropped_and_the_others_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = MemoryPort()
    courier = _courier(port)
    for n in range(3):
        await courier.deposit(BOB.kith_id, TO_BOB, f"f{n}".encode(), f"e{n}")
    ident, topic, item = port.items[1]
    port.items[1] = (ident, topic, item[:-1] + bytes([item[-1] ^ 1]))
    opened = await courier.fetch(ALICE.kith_id, FROM_ALICE)
    assert [frame for _, frame in opened.frames] == [b"f0", b"f2"]
    assert opened.dropped == [2]
    assert "tampered" in caplog.text
    await courier.ack(FROM_ALICE, [*opened.dropped, *(i for i, _ in opened.frames)])
    assert port.items == []


async def test_an_item_older_than_the_max_age_is_dropped_as_stale(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = MemoryPort()
    await _courier(port, NOW - MAILBOX_MAX_AGE - 60).deposit(BOB.kith_id, TO_BOB, b"old")
    opened = await _courier(port).fetch(ALICE.kith_id, FROM_ALICE)
    assert (opened.frames, opened.dropped) == ([], [1])
    assert "stale" in caplog.text


async def test_an_item_for_another_pair_does_not_open() -> None:
    port = MemoryPort()
    carol = IdentityKeys.generate()
    await _courier(port).deposit(carol.kith_id, PairChannel(ALICE, carol.public_key), b"x")
    opened = await _courier(port).fetch(ALICE.kith_id, FROM_ALICE)
    assert opened.dropped == [1]


async def test_a_server_without_a_mailbox_is_said_once_until_the_next_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)

    class NoMailbox(MemoryPort):
        async def mailbox_deposit(self, topic: bytes, item: bytes, timeout: float = 1) -> None:  # noqa: ASYNC109
            raise MailboxRefused("mailbox_unavailable", "no --data-dir")

    courier = _courier(NoMailbox())
    for n in range(3):
        assert not await courier.deposit(BOB.kith_id, TO_BOB, b"frame", f"e{n}")
    assert not courier.available
    assert caplog.text.count("keeps no mailbox") == 1
    courier.connected()
    assert courier.available
