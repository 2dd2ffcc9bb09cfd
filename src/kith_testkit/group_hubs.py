"""Group hubs of mutual contacts, each on its own real SQLCipher store, no network:
tests hand queued group frames from one to another as the sealed mailbox would."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from kith.groups.frames import Queued, encode_group_frame
from kith.runtime.groups.hub import GroupHub
from kith.runtime.live import EventHub
from kith.store import Store
from kith.store.async_store import AsyncStore
from kith_proto.keys import IdentityKeys

KEYS: Final = {n: IdentityKeys(bytes([i + 1]) * 32) for i, n in enumerate("abc")}
"""Three fixed identities, alice (``a``), bob and carol, for :func:`group_members`."""
IDS: Final = {n: k.kith_id for n, k in KEYS.items()}


class GroupMembers:
    """Each member's hub on its own store file; :meth:`restart` reopens one."""

    def __init__(self, root: Path, keys: Mapping[str, IdentityKeys]) -> None:
        self.keys = dict(keys)
        self.ids = {n: k.kith_id for n, k in keys.items()}
        self.files = {n: (root / f"{n}.db", os.urandom(32)) for n in keys}
        self.hubs: dict[str, tuple[GroupHub, AsyncStore]] = {}
        self.seen: dict[tuple[str, str], int] = {}
        for name in keys:
            self._create(name)

    def _create(self, name: str) -> None:
        """A new store for ``name`` with every other member as a contact."""
        path, key = self.files[name]
        with Store.create(path, key) as store, store.transaction():
            for other, their in self.keys.items():
                if other != name:
                    store.contacts.add(their.kith_id, their.public_key, other, 1.0)

    def hub(self, name: str) -> GroupHub:
        return self.hubs[name][0]

    def store(self, name: str) -> AsyncStore:
        return self.hubs[name][1]

    async def start(self, name: str, clock: Callable[[], float] = time.time) -> GroupHub:
        """Open ``name``'s store and load its hub, as its node does at start."""
        path, key = self.files[name]
        astore = await AsyncStore.open(path, key)
        log = logging.getLogger(f"test.groups.{name}")
        hub = GroupHub(keys=self.keys[name], store=astore, hub=EventHub(), clock=clock, log=log)
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

    async def hand(self, sender: str, receiver: str) -> bool:
        """Hand the sender's queued frames for the receiver not handed yet; whether any were."""
        rid = self.ids[receiver]
        rows = await self.store(sender).run(lambda s: s.groups.outbox(rid))
        moved = False
        for seq, frame in rows:
            if seq > self.seen.get((sender, receiver), 0):
                self.seen[(sender, receiver)] = seq
                queued = encode_group_frame(Queued(seq, frame))
                await self.hub(receiver).take(self.ids[sender], queued)
                moved = True
        return moved

    async def pump(self) -> None:
        """Hand every queued frame not handed yet to its member, until none is left."""
        moved = True
        while moved:
            moved = False
            for sender in list(self.hubs):
                for receiver in list(self.hubs):
                    if receiver != sender:
                        moved = await self.hand(sender, receiver) or moved

    async def close(self) -> None:
        for name in list(self.hubs):
            await self.stop(name)


@asynccontextmanager
async def group_members(
    root: Path, keys: Mapping[str, IdentityKeys] = KEYS
) -> AsyncIterator[GroupMembers]:
    """Every member's store made and hub started; all stopped on the way out."""
    made = GroupMembers(root, keys)
    try:
        for name in keys:
            await made.start(name)
        yield made
    finally:
        await made.close()
