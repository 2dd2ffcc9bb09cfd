"""Three group hubs, each on its own real SQLCipher store, exchanging queued group
frames as the sealed mailbox hands them over (``GroupHub.take``), no network: a
member's edit of someone else's message, forged on the wire, is refused by the
others with its error, and nothing after it is lost; receipts are counted."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kith.groups.content import Edit, encode_content
from kith.groups.frames import Queued, Sealed, encode_group_frame
from kith.groups.sender_keys import encode_group_message
from kith.runtime.groups.hub import GroupHub, Rejection
from kith.runtime.live import EventHub
from kith.store import Store
from kith.store.async_store import AsyncStore
from kith_proto.keys import IdentityKeys

KEYS = {n: IdentityKeys(bytes([i + 1]) * 32) for i, n in enumerate("abc")}
IDS = {n: k.kith_id for n, k in KEYS.items()}
Hubs = dict[str, tuple[GroupHub, AsyncStore]]


@pytest.fixture
async def hubs(tmp_path: Path) -> AsyncIterator[Hubs]:
    made: Hubs = {}
    for name, keys in KEYS.items():
        path, key = tmp_path / f"{name}.db", os.urandom(32)
        with Store.create(path, key) as store, store.transaction():
            for other, their in KEYS.items():
                if other != name:
                    store.contacts.add(their.kith_id, their.public_key, other, 1.0)
        astore = await AsyncStore.open(path, key)
        log = logging.getLogger(f"test.groups.{name}")
        made[name] = (
            GroupHub(keys=keys, store=astore, hub=EventHub(), clock=time.time, log=log),
            astore,
        )
    yield made
    for hub, astore in made.values():
        await hub.stop()
        await astore.close()


async def hand(hubs: Hubs, seen: dict[tuple[str, str], int], sender: str, receiver: str) -> bool:
    """Hand the sender's queued frames for the receiver not handed yet; whether any were."""
    rows = await hubs[sender][1].run(_outbox(IDS[receiver]))
    moved = False
    for seq, frame in rows:
        if seq > seen.get((sender, receiver), 0):
            seen[(sender, receiver)] = seq
            await hubs[receiver][0].take(IDS[sender], encode_group_frame(Queued(seq, frame)))
            moved = True
    return moved


async def pump(hubs: Hubs, seen: dict[tuple[str, str], int]) -> None:
    """Hand every queued frame not handed yet to its member, until none is left."""
    moved = True
    while moved:
        moved = False
        for sender in hubs:
            for receiver in hubs:
                if receiver != sender:
                    moved = await hand(hubs, seen, sender, receiver) or moved


def _outbox(contact_id: str) -> Callable[[Store], list[tuple[int, bytes]]]:
    return lambda store: store.groups.outbox(contact_id)


async def test_a_forged_edit_of_anothers_message_is_refused_and_nothing_after_it_lost(
    hubs: Hubs,
) -> None:
    seen: dict[tuple[str, str], int] = {}
    alice, bob, carol = (hubs[n][0] for n in "abc")
    state = await alice.create("Crag", [IDS["b"], IDS["c"]])
    gid = state.group_id
    await pump(hubs, seen)
    message, _ = await alice.send(gid, "hello")
    await pump(hubs, seen)
    shown = (await alice.messages(gid))[0]
    assert shown.receipts is not None
    assert (shown.receipts.delivered, shown.receipts.read, shown.receipts.of) == (2, 0, 2)

    # bob seals an edit of alice's message with his own chain and sends it to carol
    bob_store = hubs["b"][1]
    keyring = await bob_store.run(lambda s: s.groups.keyring(gid))
    assert keyring is not None
    keyring, sealed = keyring.seal(encode_content(Edit(message.id, "forged", 1)))
    await bob_store.run(lambda s: s.groups.save_keyring(gid, keyring, now=time.time()))
    await carol.take(IDS["b"], encode_group_frame(Sealed(encode_group_message(sealed))))
    assert list(carol.rejections) == [Rejection(IDS["b"], "refused_group_action")]
    assert [m.body for m in await carol.messages(gid)] == ["hello"]

    # bob's chain goes on (his next message opens), and alice's own edit applies
    await bob.react(gid, message.id, "👍", add=True)
    await alice.edit(gid, message.id, "hello, all")
    await pump(hubs, seen)
    (got,) = await carol.messages(gid)
    assert (got.body, got.edited_at is not None, got.reactions) == (
        "hello, all",
        True,
        {"👍": [IDS["b"]]},
    )
    assert len(carol.rejections) == 1


async def test_a_reaction_that_overtakes_the_message_it_names_waits_for_it(hubs: Hubs) -> None:
    seen: dict[tuple[str, str], int] = {}
    alice, _, carol = (hubs[n][0] for n in "abc")
    gid = (await alice.create("Crag", [IDS["b"], IDS["c"]])).group_id
    await pump(hubs, seen)
    message, _ = await alice.send(gid, "hello")
    await hand(hubs, seen, "a", "c")  # carol has it, bob not yet
    await carol.react(gid, message.id, "👍", add=True)
    await hand(hubs, seen, "c", "b")  # carol's reaction reaches bob first
    bob = hubs["b"][0]
    assert await bob.messages(gid) == []
    assert not bob.rejections
    await hand(hubs, seen, "a", "b")
    (got,) = await bob.messages(gid)
    assert (got.body, got.reactions) == ("hello", {"👍": [IDS["c"]]})
    assert not bob.rejections
