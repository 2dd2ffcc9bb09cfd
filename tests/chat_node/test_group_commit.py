"""Group commit: a burst of frames is stored in one transaction and
receipted in one frame, only after that transaction; messages written at
once are stored in one transaction and sent only after it.

The chat link with a real store, a fake peer link (the test delivers frames
into it) and a real secure channel at the contact's end. Frames delivered
together are read by the peer's pump in one loop turn, as a busy data
channel hands them over.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kith.chat import Edit, MessageState, Receipt, Text, decode_chat_frame, encode_chat_frame
from kith.p2p import MessageReceived, SecureChannel
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.chat.service import ChatService
from kith.store.store import Store
from kith_testkit.chat_driver_harness import (
    BOB,
    NOW,
    FakeLink,
    StoreRunner,
    fake_links,
    handshake,
    new_chat,
    new_store,
    receipts,
    until,
)

BURST = 40


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path)


async def _open_chat(
    store: Store, runner: StoreRunner, monkeypatch: pytest.MonkeyPatch
) -> tuple[ChatDriver, FakeLink[set[str]], SecureChannel]:
    """A chat driver with an open channel to bob, bob's end of the session; each
    frame sent is recorded with the message IDs stored at that moment."""
    links = fake_links(monkeypatch, lambda: set(store.messages.ids(BOB.kith_id)))
    chat = await new_chat(runner)
    await chat.peer(BOB.kith_id).open()
    bob = await handshake(chat, links[0])
    await chat.flush()
    return chat, links[0], bob


def _receipts(
    bob: SecureChannel, sent: list[tuple[bytes, set[str]]]
) -> list[tuple[list[str], set[str]]]:
    """The IDs of each delivery receipt sent on bob's channel, with the message
    IDs stored when it went out."""
    return [(receipt.ids, stored) for receipt, stored in receipts(bob, sent)]


def _text(n: int, q: int) -> Text:
    return Text(f"{n:032x}", q, f"message {n}", 1_000 + n)


async def test_a_burst_is_one_transaction_and_one_receipt_sent_after_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = StoreRunner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    frames_before, calls_before = len(link.sent), runner.calls
    texts = [_text(n, n + 1) for n in range(BURST)]

    link.deliver(*(bob.seal(encode_chat_frame(t)).data for t in texts))
    await until(lambda: len(link.sent) > frames_before, "a delivery receipt")
    await chat.flush()

    ids = [t.id for t in texts]
    assert runner.calls - calls_before == 1  # one transaction for the whole burst
    assert set(store.messages.ids(BOB.kith_id)) == set(ids)
    receipts = _receipts(bob, link.sent[frames_before:])
    assert [receipted for receipted, _ in receipts] == [ids]  # one frame, in order
    assert all(set(receipted) <= stored for receipted, stored in receipts)  # stored first
    assert store.cursors.get(BOB.kith_id)[1] == BURST + 1
    await chat.stop()


async def test_bad_frames_in_a_burst_do_not_lose_the_good_ones(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Undecodable, tampered and refused frames among good ones: the good
    ones are stored and receipted (in the same transaction and frame); the bad
    ones are dropped, and a refused sequenced frame is receipted (the sender
    must not resend it for ever) but stores nothing."""
    runner = StoreRunner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    frames_before, calls_before = len(link.sent), runner.calls
    good = [_text(0, 1), _text(1, 3), _text(2, 4)]
    refused = Edit("e" * 32, 2, "f" * 32, "an edit of a message nobody sent", 1_500)
    tampered = bytearray(bob.seal(encode_chat_frame(_text(9, 9))).data)
    tampered[-1] ^= 1

    link.deliver(
        bob.seal(encode_chat_frame(good[0])).data,
        bob.seal(b'{"t": "text", "id": "not json').data,
        bytes(tampered),
        bob.seal(encode_chat_frame(refused)).data,
        bob.seal(b"\xff\xfe").data,
        bob.seal(encode_chat_frame(good[1])).data,
        b"\x00 not a frame at all",
        bob.seal(encode_chat_frame(good[2])).data,
    )
    await until(lambda: len(link.sent) > frames_before, "a delivery receipt")
    await chat.flush()

    assert chat.peer(BOB.kith_id).is_open  # the channel survived the bad frames
    assert runner.calls - calls_before == 1
    assert set(store.messages.ids(BOB.kith_id)) == {t.id for t in good}
    receipts = _receipts(bob, link.sent[frames_before:])
    assert [receipted for receipted, _ in receipts] == [
        [good[0].id, refused.id, good[1].id, good[2].id]
    ]
    assert all({t.id for t in good} <= stored for _, stored in receipts)
    assert store.cursors.get(BOB.kith_id)[1] == 5
    await chat.stop()


async def test_messages_written_at_once_are_one_transaction_and_sent_after_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = StoreRunner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    service = ChatService(chat, lambda: NOW)
    frames_before, calls_before = len(link.sent), runner.calls

    written = await asyncio.gather(
        *(service.send_text(BOB.kith_id, f"message {n}") for n in range(BURST))
    )
    await chat.flush()

    ids = [m.id for m in written]
    assert runner.calls - calls_before == 1
    assert set(store.messages.ids(BOB.kith_id)) == set(ids)
    assert [e.id for e in store.outbox.entries(BOB.kith_id)] == ids  # until bob receipts
    sent = []
    for frame, stored in link.sent[frames_before:]:
        for event in bob.receive(frame):
            assert isinstance(event, MessageReceived)
            text = decode_chat_frame(event.plaintext)
            assert isinstance(text, Text)
            assert text.id in stored  # stored before it went out
            sent.append(text.id)
    assert sent  # the send window lets some go at once
    assert sent == ids[: len(sent)]  # in order
    await chat.stop()


def _commits(statements: list[str]) -> list[tuple[bool, str]]:
    """Each committed transaction among traced statements: whether it waited
    for the disk, and its statements joined."""
    commits, synced, current = [], True, list[str]()
    for sql in statements:
        if sql == "PRAGMA synchronous = NORMAL":
            synced = False
        elif sql == "PRAGMA synchronous = FULL":
            synced = True
        elif sql == "BEGIN IMMEDIATE":
            current = []
        elif sql == "COMMIT":
            commits.append((synced, " ".join(current)))
        else:
            current.append(sql)
    return commits


async def test_a_receipt_applied_commits_without_waiting_for_the_disk(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is promised (a message stored and sent) waits for the disk; the
    receipt that moves its state and drops its outbox entry does not."""
    runner = StoreRunner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    service = ChatService(chat, lambda: NOW)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)

    message = await service.send_text(BOB.kith_id, "hello")
    await chat.flush()
    link.deliver(bob.seal(encode_chat_frame(Receipt("delivered", [message.id]))).data)
    await until(lambda: not store.outbox.entries(BOB.kith_id), "the receipt applied")
    await chat.flush()
    store._conn.set_trace_callback(None)

    commits = _commits(statements)
    stored = [synced for synced, sql in commits if "INSERT INTO messages" in sql]
    dropped = [synced for synced, sql in commits if "DELETE FROM outbox" in sql]
    assert stored == [True]
    assert dropped == [False]
    stored_message = store.messages.get(BOB.kith_id, message.id)
    assert stored_message is not None
    assert stored_message.state is MessageState.DELIVERED
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again
    await chat.stop()
