"""A reaction that overtakes the message it names is held in the store: it survives
a restart of the member's node (its hub and store reopened on the same SQLCipher
file) and applies when the message arrives, unless it waited longer than
``HELD_FOR``. Three group hubs on real stores, frames handed as the mailbox would."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kith.groups.frames import Queued, encode_group_frame
from kith.runtime.groups.hub import HELD_FOR, GroupHub
from kith.runtime.live import EventHub
from kith.store import Store
from kith.store.async_store import AsyncStore
from kith_proto.keys import IdentityKeys

KEYS = {n: IdentityKeys(bytes([i + 1]) * 32) for i, n in enumerate("abc")}
IDS = {n: k.kith_id for n, k in KEYS.items()}


class Members:
    """Each member's hub on its own store file; :meth:`restart` reopens one."""

    def __init__(self, tmp_path: Path) -> None:
        self.files = {n: (tmp_path / f"{n}.db", os.urandom(32)) for n in KEYS}
        self.hubs: dict[str, tuple[GroupHub, AsyncStore]] = {}
        self.seen: dict[tuple[str, str], int] = {}

    async def start(self, name: str, clock: Callable[[], float] = time.time) -> GroupHub:
        path, key = self.files[name]
        astore = await AsyncStore.open(path, key)
        log = logging.getLogger(f"test.groups.{name}")
        hub = GroupHub(keys=KEYS[name], store=astore, hub=EventHub(), clock=clock, log=log)
        await hub.load()
        self.hubs[name] = (hub, astore)
        return hub

    async def stop(self, name: str) -> None:
        hub, astore = self.hubs.pop(name)
        await hub.stop()
        await astore.close()

    async def restart(self, name: str, clock: Callable[[], float] = time.time) -> GroupHub:
        await self.stop(name)
        return await self.start(name, clock)

    async def hand(self, sender: str, receiver: str) -> None:
        """Hand the sender's queued frames for the receiver not handed yet."""
        rid = IDS[receiver]
        rows = await self.hubs[sender][1].run(lambda s: s.groups.outbox(rid))
        for seq, frame in rows:
            if seq > self.seen.get((sender, receiver), 0):
                self.seen[(sender, receiver)] = seq
                await self.hubs[receiver][0].take(
                    IDS[sender], encode_group_frame(Queued(seq, frame))
                )

    async def held(self, name: str, gid: bytes) -> int:
        return await self.hubs[name][1].run(lambda s: s.groups.held_actions(gid))


@pytest.fixture
async def members(tmp_path: Path) -> AsyncIterator[Members]:
    made = Members(tmp_path)
    for name in KEYS:
        path, key = made.files[name]
        with Store.create(path, key) as store, store.transaction():
            for other, their in KEYS.items():
                if other != name:
                    store.contacts.add(their.kith_id, their.public_key, other, 1.0)
        await made.start(name)
    yield made
    for name in list(made.hubs):
        await made.stop(name)


async def _overtaken(members: Members) -> tuple[bytes, str]:
    """Alice posts, carol reacts, and bob gets carol's reaction first."""
    alice, carol = members.hubs["a"][0], members.hubs["c"][0]
    gid = (await alice.create("Crag", [IDS["b"], IDS["c"]])).group_id
    for sender in "abc":
        for receiver in "abc":
            if sender != receiver:
                await members.hand(sender, receiver)
    message, _ = await alice.send(gid, "hello")
    await members.hand("a", "c")
    await carol.react(gid, message.id, "👍", add=True)
    await members.hand("c", "b")
    assert await members.held("b", gid) == 1
    return gid, message.id


async def test_a_held_reaction_survives_a_restart_and_applies_when_its_message_comes(
    members: Members,
) -> None:
    gid, _ = await _overtaken(members)
    bob = await members.restart("b")
    assert await bob.messages(gid) == []
    await members.hand("a", "b")
    (got,) = await bob.messages(gid)
    assert (got.body, got.reactions) == ("hello", {"👍": [IDS["c"]]})
    assert not bob.rejections
    assert await members.held("b", gid) == 0


async def test_a_held_reaction_older_than_the_bound_is_dropped_at_start(
    members: Members,
) -> None:
    gid, _ = await _overtaken(members)
    later = time.time() + HELD_FOR + 60
    bob = await members.restart("b", clock=lambda: later)
    assert await members.held("b", gid) == 0
    await members.hand("a", "b")
    (got,) = await bob.messages(gid)
    assert (got.body, got.reactions) == ("hello", {})
