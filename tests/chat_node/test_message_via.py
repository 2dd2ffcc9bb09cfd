"""How a message reached us (``via``) in the store and the API's message object."""

from __future__ import annotations

import os
from pathlib import Path

from kith.chat import Message, MessageState, Party
from kith.conversation_store import ChatMessage
from kith.store import Store
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
BOB = IdentityKeys(bytes(range(32))).kith_id
ME = IdentityKeys(bytes(range(1, 33))).kith_id


def _received(mid: str, via: str) -> Message:
    return Message(mid, Party.PEER, "hi", 1_700_000_000_000, MessageState.RECEIVED, 1, via=via)


def test_via_is_stored_and_read_back(tmp_path: Path) -> None:
    with Store.create(tmp_path / "k.db", KEY) as store:
        store.messages.put(BOB, _received("a" * 32, "mailbox"))
        store.messages.put(BOB, _received("b" * 32, "direct"))
        assert [m.via for m in store.messages.all(BOB)] == ["mailbox", "direct"]


def test_a_later_update_keeps_how_the_message_came(tmp_path: Path) -> None:
    with Store.create(tmp_path / "k.db", KEY) as store:
        store.messages.put(BOB, _received("a" * 32, "mailbox"))
        read = _received("a" * 32, "direct").with_state(MessageState.READ)
        store.messages.put(BOB, read)
        (stored,) = store.messages.all(BOB)
        assert (stored.state, stored.via) == (MessageState.READ, "mailbox")


def test_the_api_message_object_carries_via() -> None:
    view = ChatMessage.of(_received("a" * 32, "mailbox"), ME, BOB)
    assert view.to_json()["via"] == "mailbox"
    assert ChatMessage.from_json(view.to_json(), BOB).via == "mailbox"
    older = {k: v for k, v in view.to_json().items() if k != "via"}
    assert ChatMessage.from_json(older, BOB).via == "direct"
