"""A sender key or sealed message that reaches a member before the change or key it
needs is held in the store (it was acknowledged on arrival, so its sender will not
send it again): it survives a restart of the member's node (hub and store reopened
on the same SQLCipher file) and applies, in order, when what it needs arrives;
at most ``MAX_WAITING`` per group (the oldest go) for at most ``HELD_FOR``, and a
malformed frame is refused, not held. Three group hubs on real stores, frames
handed as the mailbox would."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kith.groups.content import encode_content
from kith.groups.frames import Post, Queued, Sealed, encode_group_frame
from kith.groups.keyring import GroupKeyring
from kith.groups.sender_keys import encode_group_message
from kith.runtime.groups import hub as hub_module
from kith.runtime.groups.hub import HELD_FOR, GroupHub
from kith.runtime.live import EventHub
from kith.store import Store
from kith.store.async_store import AsyncStore
from kith_proto.keys import IdentityKeys

KEYS = {n: IdentityKeys(bytes([i + 11]) * 32) for i, n in enumerate("abc")}
IDS = {n: k.kith_id for n, k in KEYS.items()}


class Members:
    """Each member's hub on its own store file; :meth:`restart` reopens one."""

    def __init__(self, tmp_path: Path) -> None:
        self.files = {n: (tmp_path / f"{n}.db", os.urandom(32)) for n in KEYS}
        self.hubs: dict[str, tuple[GroupHub, AsyncStore]] = {}
        self.seen: dict[tuple[str, str], int] = {}

    def hub(self, name: str) -> GroupHub:
        return self.hubs[name][0]

    async def start(self, name: str, clock: Callable[[], float] = time.time) -> GroupHub:
        path, key = self.files[name]
        astore = await AsyncStore.open(path, key)
        log = logging.getLogger(f"test.groups.held.{name}")
        hub = GroupHub(keys=KEYS[name], store=astore, hub=EventHub(), clock=clock, log=log)
        await hub.load()
        self.hubs[name] = (hub, astore)
        return hub

    async def restart(self, name: str, clock: Callable[[], float] = time.time) -> GroupHub:
        await self.stop(name)
        return await self.start(name, clock)

    async def stop(self, name: str) -> None:
        hub, astore = self.hubs.pop(name)
        await hub.stop()
        await astore.close()

    async def hand(self, sender: str, receiver: str) -> None:
        """Hand the sender's queued frames for the receiver not handed yet."""
        rid = IDS[receiver]
        rows = await self.hubs[sender][1].run(lambda s: s.groups.outbox(rid))
        for seq, frame in rows:
            if seq > self.seen.get((sender, receiver), 0):
                self.seen[(sender, receiver)] = seq
                await self.hub(receiver).take(IDS[sender], encode_group_frame(Queued(seq, frame)))

    async def held(self, name: str, gid: bytes) -> list[bytes]:
        rows = await self.hubs[name][1].run(lambda s: s.groups.held_frames(gid))
        return [frame for _, _, frame in rows]

    async def bodies(self, name: str, gid: bytes) -> list[str]:
        return [m.body for m in await self.hub(name).messages(gid)]


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


async def _exchange(members: Members, names: str) -> None:
    for sender in names:
        for receiver in names:
            if sender != receiver:
                await members.hand(sender, receiver)


async def _carol_early(members: Members) -> bytes:
    """Alice has a group with bob and adds carol; carol posts twice, and bob gets her
    key and posts before alice's change (so none of them makes sense to him yet)."""
    alice, carol = members.hub("a"), members.hub("c")
    gid = (await alice.create("Tarn", [IDS["b"]])).group_id
    await _exchange(members, "ab")
    await alice.change(gid, "add", subject=IDS["c"])
    await members.hand("a", "c")
    await carol.send(gid, "one")
    await carol.send(gid, "two")
    await members.hand("c", "b")
    return gid


async def test_early_keys_and_messages_survive_a_restart_and_apply_in_order(
    members: Members,
) -> None:
    gid = await _carol_early(members)
    assert len(await members.held("b", gid)) == 3  # carol's key and both posts
    bob = await members.restart("b")
    assert await members.bodies("b", gid) == []
    await members.hand("a", "b")  # the change that adds carol
    assert await members.bodies("b", gid) == ["one", "two"]
    assert not bob.rejections
    assert await members.held("b", gid) == []


async def test_a_member_of_a_group_we_do_not_know_yet_is_heard_after_a_restart(
    members: Members,
) -> None:
    alice, carol = members.hub("a"), members.hub("c")
    gid = (await alice.create("Scree", [IDS["b"], IDS["c"]])).group_id
    await members.hand("a", "c")
    await carol.send(gid, "first")
    await members.hand("c", "b")  # bob has not got the group at all yet
    assert len(await members.held("b", gid)) == 2
    bob = await members.restart("b")
    await members.hand("a", "b")
    assert await members.bodies("b", gid) == ["first"]
    assert not bob.rejections


async def test_frames_held_longer_than_the_bound_are_dropped_at_start(
    members: Members, caplog: pytest.LogCaptureFixture
) -> None:
    gid = await _carol_early(members)
    later = time.time() + HELD_FOR + 60
    with caplog.at_level(logging.WARNING, logger="test.groups.held.b"):
        await members.restart("b", clock=lambda: later)
    assert "held_too_long" in caplog.text
    assert await members.held("b", gid) == []
    await members.hand("a", "b")
    assert await members.bodies("b", gid) == []  # gone, as documented


async def test_past_the_bound_the_oldest_go_and_a_malformed_frame_is_not_held(
    members: Members, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_module, "MAX_WAITING", 3)
    alice, bob = members.hub("a"), members.hub("b")
    gid = (await alice.create("Cirque", [IDS["b"]])).group_id
    await _exchange(members, "ab")
    # carol is no member: her messages wait for a key she may not give, and only 3 stay
    keyring = GroupKeyring.start(gid, IDS["c"])
    frames = []
    for n in range(5):
        keyring, sealed = keyring.seal(encode_content(Post(f"m{n}", f"forged {n}", n)))
        frames.append(encode_group_frame(Sealed(encode_group_message(sealed))))
    with caplog.at_level(logging.WARNING, logger="test.groups.held.b"):
        for seq, frame in enumerate(frames, 1):
            await bob.take(IDS["c"], encode_group_frame(Queued(seq, frame)))
    assert await members.held("b", gid) == frames[2:]
    assert "too_many_held" in caplog.text
    await bob.take(IDS["c"], encode_group_frame(Queued(6, b"\x93not a frame")))
    assert bob.rejections[-1].code
    assert await members.held("b", gid) == frames[2:]
    await alice.send(gid, "still heard")
    await members.hand("a", "b")
    assert await members.bodies("b", gid) == ["still heard"]
    assert await members.held("b", gid) == frames[2:]  # a change or key of hers frees them
