"""A failed commit loses nothing that was acknowledged.

The chat link with a real store whose transaction fails once (database busy,
disk full), a fake peer link and a real secure channel at the contact's end:
the conversation moved ahead of the database, so it must be rebuilt from the
store before it acknowledges anything again. A resent message is then stored
and only then receipted, and a user's action that was not stored is an error.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kith.chat import Text, UnknownMessage, encode_chat_frame
from kith.errors import KithError
from kith.runtime.chat.service import ChatService
from kith.store.store import Store
from kith_testkit.chat_driver_harness import (
    BOB,
    NOW,
    StoreRunner,
    fake_links,
    handshake,
    new_chat,
    new_store,
    receipts,
    until,
)

MID = "a" * 32


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path)


async def test_a_message_whose_commit_failed_is_stored_then_receipted_when_resent(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = fake_links(monkeypatch, lambda: store.messages.get(BOB.kith_id, MID) is not None)
    runner = StoreRunner(store)
    chat = await new_chat(runner)
    peer = chat.peer(BOB.kith_id)
    await peer.open()
    link = links[0]
    text = encode_chat_frame(Text(MID, 1, "hello", 1_000))

    bob = await handshake(chat, link)
    handshake_frames = len(link.sent)
    runner.fail_next = 1
    link.deliver(bob.seal(text).data)
    await until(lambda: link.closes == 1, "the link is closed after the failed commit")
    await until(lambda: not peer.recovering, "the conversation is rebuilt")
    await chat.flush()

    assert store.messages.get(BOB.kith_id, MID) is None
    assert store.cursors.get(BOB.kith_id)[1] == 1  # the peer's cursor did not move
    assert peer.conversation.message(MID) is None  # rebuilt from the store
    assert receipts(bob, link.sent[handshake_frames:]) == []  # nothing acknowledged
    assert store.sessions.clear() == 0  # and the session was never stored

    bob = await handshake(chat, link)  # bob reconnects and resends what was not receipted
    resent_from = len(link.sent)
    link.deliver(bob.seal(text).data)
    await until(lambda: len(link.sent) > resent_from, "a delivery receipt")
    await chat.flush()

    stored = store.messages.get(BOB.kith_id, MID)
    assert stored is not None
    assert stored.text == "hello"
    resent = receipts(bob, link.sent[resent_from:])
    assert [(r.ids, was_stored) for r, was_stored in resent] == [([MID], True)]
    await chat.stop()


async def test_a_send_whose_commit_failed_is_an_error_and_forgotten(
    store: Store,
) -> None:
    runner = StoreRunner(store)
    chat = await new_chat(runner)
    service = ChatService(chat, lambda: NOW)
    peer = chat.peer(BOB.kith_id)

    runner.fail_next = 1
    with pytest.raises(KithError) as failed:
        await service.send_text(BOB.kith_id, "lost?")
    assert failed.value.code == "database_busy"  # the API answers 503, not 201
    await until(lambda: not peer.recovering, "the conversation is rebuilt")
    assert store.messages.all(BOB.kith_id) == []
    assert peer.conversation.history() == []
    with pytest.raises(UnknownMessage):
        chat.owner(failed.value.message)  # nothing of it is left in memory

    message = await service.send_text(BOB.kith_id, "again")
    stored = store.messages.get(BOB.kith_id, message.id)
    assert stored is not None
    assert stored.seq == 1  # the unsaved sequence number is reused: no gap at the peer
    assert [e.seq for e in store.outbox.entries(BOB.kith_id)] == [1]
    await chat.stop()


async def test_calls_are_refused_while_the_conversation_is_rebuilt(store: Store) -> None:
    runner = StoreRunner(store)
    chat = await new_chat(runner)
    service = ChatService(chat, lambda: NOW)
    peer = chat.peer(BOB.kith_id)
    runner.fail_next = 2  # the commit, then the first reload (retried half a second later)
    first = asyncio.ensure_future(service.send_text(BOB.kith_id, "one"))
    await until(lambda: peer.recovering, "the failure is noticed")
    with pytest.raises(KithError) as refused:
        await service.send_text(BOB.kith_id, "two")
    assert refused.value.code == "database_busy"
    with pytest.raises(KithError):
        await first
    await until(lambda: not peer.recovering, "the conversation is rebuilt")
    await service.send_text(BOB.kith_id, "three")
    assert [m.text for m in store.messages.all(BOB.kith_id)] == ["three"]
    await chat.stop()
