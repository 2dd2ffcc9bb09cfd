"""The peer directory: lookups by contact, by inbound topic and by message (pure)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from kith.chat import UnknownMessage
from kith.errors import ContactError
from kith.runtime.chat.directory import PeerDirectory
from kith.runtime.chat.peer import ChatPeer
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel

ME, BOB = IdentityKeys.generate(), IdentityKeys.generate()


def fake_peer(keys: IdentityKeys, messages: dict[str, Any] | None = None) -> ChatPeer:
    conversation = SimpleNamespace(message=(messages or {}).get)
    peer = SimpleNamespace(
        contact_id=keys.kith_id, pair=PairChannel(ME, keys.public_key), conversation=conversation
    )
    return cast(ChatPeer, peer)


def test_topics_find_the_peer_only_in_their_own_role() -> None:
    directory = PeerDirectory()
    bob = fake_peer(BOB)
    directory.add(bob)
    presence, relay = bob.pair.subscribe_topic.raw, bob.pair.relay_in_topic.raw
    assert directory.presence_source(presence) is bob
    assert directory.relay_source(relay) is bob
    assert directory.presence_source(relay) is None  # a relay topic is not presence
    assert directory.relay_source(presence) is None
    assert directory.presence_source(bob.pair.publish_topic.raw) is None  # our own direction


def test_removed_peer_is_found_by_nothing() -> None:
    directory = PeerDirectory()
    bob = fake_peer(BOB)
    directory.add(bob)
    assert directory.pop(BOB.kith_id) is bob
    assert BOB.kith_id not in directory
    assert directory.presence_source(bob.pair.subscribe_topic.raw) is None
    assert directory.pop(BOB.kith_id) is None


def test_named_accepts_the_id_as_typed_and_refuses_strangers() -> None:
    directory = PeerDirectory()
    bob = fake_peer(BOB)
    directory.add(bob)
    assert directory.named(BOB.kith_id) is bob
    assert directory.named(BOB.kith_id.upper()) is bob
    with pytest.raises(ContactError) as err:
        directory.named(IdentityKeys.generate().kith_id)
    assert err.value.code == "unknown_contact"


def test_owner_is_the_conversation_holding_the_message() -> None:
    directory = PeerDirectory()
    bob = fake_peer(BOB, {"m1": object()})
    directory.add(bob)
    assert directory.owner("m1") is bob
    with pytest.raises(UnknownMessage):
        directory.owner("m2")
