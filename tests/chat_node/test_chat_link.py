"""The chat link with a real store and fake signaling: a changed identity key
blocks sending until accepted; a failed connection is reported with its reason."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from kith.errors import ContactError
from kith.models import Contact
from kith.presence import (
    ContactPresenceChanged,
    MessagesWaiting,
    OwnStatus,
    OwnStatusChanged,
    PresenceStatus,
)
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.chat.live import ChatNoticeEvent
from kith.runtime.chat.service import ChatService
from kith.runtime.live import EventHub
from kith.signaling import PeerOffline
from kith.store.store import Store
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys
from kith_testkit.chat_driver_harness import (
    BOB,
    ME,
    NOW,
    QuietSignaling,
    StoreRunner,
    build_chat,
    new_store,
)


class Signaling(QuietSignaling):
    """Records the subscriptions and relayed offers; can refuse to relay."""

    def __init__(self, refuse: bool = False) -> None:
        self.relayed: list[bytes] = []
        self.offered = asyncio.Event()
        self.refuse = refuse
        self.subscribed: list[set[bytes]] = []

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        self.subscribed.append(set(topics))

    async def relay(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        if self.refuse:
            raise PeerOffline("peer_offline", "nobody listens on that topic")
        self.relayed.append(payload)
        self.offered.set()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path)


def _bob_online(chat: ChatDriver) -> None:
    """The presence driver tells the chat driver that bob came online."""
    chat.presence_changed(ContactPresenceChanged(BOB.kith_id, PresenceStatus.ONLINE, "", NOW))


def _chat(store: Store, hub: EventHub, signaling: Signaling) -> ChatDriver:
    return build_chat(StoreRunner(store), hub, signaling)


async def test_a_changed_key_blocks_sending_until_accepted(store: Store) -> None:
    hub, signaling = EventHub(), Signaling()
    events = hub.subscribe()
    chat = _chat(store, hub, signaling)
    await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    peer = chat.peer(BOB.kith_id)
    chat.key_changed(peer, os.urandom(32))
    await chat.flush()
    notice = events.queue.get_nowait()
    assert isinstance(notice, ChatNoticeEvent)
    assert notice.code == "key_changed"
    assert store.key_warnings.contacts() == {BOB.kith_id}

    _bob_online(chat)
    assert peer.online
    message = await ChatService(chat, lambda: NOW).send_text(BOB.kith_id, "hi")
    await chat.flush()
    await asyncio.sleep(0)
    assert message.state in ("queued", "failed")  # waits: blocked contacts count as unreachable
    assert signaling.relayed == []  # no offer goes out while blocked
    chat.relay_message(peer.pair.relay_in_topic.raw, b"an offer")  # ignored, no error

    await ChatService(chat, lambda: NOW).accept_key(BOB.kith_id)
    assert store.key_warnings.contacts() == set()
    assert not peer.blocked
    await asyncio.wait_for(signaling.offered.wait(), 10)  # sending resumes: an offer goes out
    await chat.stop()


async def test_a_failed_connection_is_reported_with_its_reason(store: Store) -> None:
    hub, signaling = EventHub(), Signaling(refuse=True)
    events = hub.subscribe()
    chat = _chat(store, hub, signaling)
    await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    _bob_online(chat)
    message = await ChatService(chat, lambda: NOW).send_text(BOB.kith_id, "hi")
    seen: list[object] = []
    async with asyncio.timeout(10):
        while not any(isinstance(e, ChatNoticeEvent) for e in seen):
            seen.append(await events.next())
    notice = next(e for e in seen if isinstance(e, ChatNoticeEvent))
    assert (notice.code, notice.reason) == ("connect_failed", "offline")
    await chat.flush()
    assert store.messages.get(BOB.kith_id, message.id).state.value == "failed"  # type: ignore[union-attr]
    assert [e.id for e in store.outbox.entries(BOB.kith_id)] == [message.id]  # retried later
    await chat.stop()


async def test_the_node_deletes_sessions_an_older_version_stored(tmp_path: Path) -> None:
    from kith.store import migrate
    from kith.store.connection import create

    key, path = os.urandom(32), tmp_path / "old.db"
    conn = create(path, key)
    migrate(conn, allow_empty=True)
    conn.execute("INSERT INTO sessions VALUES (?, ?, ?)", (BOB.kith_id, b"ratchet keys", NOW))
    conn.close()
    with Store.open(path, key) as old:
        old.identity.create(ME, "me", NOW)
        chat = _chat(old, EventHub(), Signaling())
        await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
        assert old.sessions.clear() == 0  # already gone
        await chat.stop()


async def test_a_contact_with_an_unusable_key_is_skipped(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A row stored before keys were checked (the all-zero key is no usable
    curve point) must not stop the node: the other contacts work."""
    bad = Contact(format_id(bytes(32)), bytes(32), "bad", False, NOW)
    chat = _chat(store, EventHub(), Signaling())
    await chat.load([bad, Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    assert "unusable key" in caplog.text
    assert bytes(32).hex() not in caplog.text
    with pytest.raises(ContactError):
        chat.peer(bad.kith_id)
    message = await ChatService(chat, lambda: NOW).send_text(BOB.kith_id, "still works")
    assert store.messages.get(BOB.kith_id, message.id) is not None
    await chat.stop()


def _invisible(text: str = "") -> OwnStatusChanged:
    return OwnStatusChanged(OwnStatus.INVISIBLE, text, PresenceStatus.OFFLINE, False)


async def test_going_invisible_updates_the_relay_inboxes_once_for_all_contacts(
    store: Store,
) -> None:
    """The relay-inbox set is computed once per change of status, not once
    per contact or per publication (that was quadratic in contacts)."""
    others = [IdentityKeys(bytes([n]) * 32) for n in range(1, 60)]
    contacts = [Contact(k.kith_id, k.public_key, None, False, NOW) for k in [BOB, *others]]
    signaling = Signaling()
    chat = _chat(store, EventHub(), signaling)
    await chat.load(contacts)
    assert len(signaling.subscribed) == 1
    assert len(signaling.subscribed[0]) == 60  # every contact's relay inbox
    chat.presence_changed(_invisible())
    chat.presence_changed(_invisible("still invisible, new text"))
    assert signaling.subscribed[1:] == [set()]  # one update: listen on no inbox
    chat.presence_changed(OwnStatusChanged(OwnStatus.BUSY, "", PresenceStatus.BUSY, False))
    assert len(signaling.subscribed) == 3
    assert len(signaling.subscribed[-1]) == 60
    await chat.stop()


async def test_an_invisible_user_pulls_only_when_the_contact_says_messages_wait(
    store: Store,
) -> None:
    signaling = Signaling()
    chat = _chat(store, EventHub(), signaling)
    await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    chat.presence_changed(_invisible())
    _bob_online(chat)
    peer = chat.peer(BOB.kith_id)
    await chat.flush()  # what coming online implied is stored and acted on
    await asyncio.sleep(0)  # one turn: a connection spawned by it would have started
    assert not peer.opening  # invisible: online alone connects to nobody
    assert signaling.relayed == []
    chat.presence_changed(MessagesWaiting(BOB.kith_id, True))
    await asyncio.sleep(0)
    assert peer.opening  # the pull starts at once ...
    await asyncio.wait_for(signaling.offered.wait(), 10)  # ... and an offer goes out
    await chat.stop()
