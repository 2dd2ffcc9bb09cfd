"""The ``resend`` exchange between two group hubs on real stores, their session
played by fake peers: the member that dropped frames over its rate limit asks,
drops the queued frames that were on their way, and takes the ones sent again
after the answer, once each and in order; the other side answers, then sends
again everything still queued for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kith.groups.frames import (
    Ack,
    Key,
    Queued,
    Resend,
    decode_group_frame,
    encode_group_frame,
)
from kith.p2p import SecureChannel
from kith.runtime.groups.hub import GroupHub
from kith.store.async_store import AsyncStore
from kith_proto.keys import IdentityKeys
from kith_testkit.group_hubs import group_members

KEYS = {n: IdentityKeys(bytes([i + 1]) * 32) for i, n in enumerate("ab")}
IDS = {n: k.kith_id for n, k in KEYS.items()}


class Peer:
    """Our session with ``contact_id``: records what we send on it."""

    def __init__(self, contact_id: str) -> None:
        self.contact_id = contact_id
        self.sent: list[bytes] = []
        self.changed = asyncio.Event()

    @property
    def secure(self) -> SecureChannel | None:
        return None

    @property
    def is_open(self) -> bool:
        return True

    def send_frame(self, secure: SecureChannel | None, data: bytes) -> None:
        self.sent.append(data)
        self.changed.set()

    def frames(self) -> list[object]:
        return [decode_group_frame(data) for data in self.sent]

    async def wait_for(self, check: Callable[[list[object]], bool]) -> list[object]:
        """The frames sent so far, once ``check`` holds for them."""
        async with asyncio.timeout(5):
            while not check(frames := self.frames()):
                self.changed.clear()
                await self.changed.wait()
        return frames


@pytest.fixture
async def hubs(tmp_path: Path) -> AsyncIterator[dict[str, tuple[GroupHub, AsyncStore]]]:
    async with group_members(tmp_path, KEYS) as made:
        yield made.hubs


async def test_the_dropping_member_asks_and_takes_what_comes_after_the_answer_once(
    hubs: dict[str, tuple[GroupHub, AsyncStore]],
) -> None:
    (alice, alice_store), (bob, _) = hubs["a"], hubs["b"]
    gid = (await alice.create("Crag", [IDS["b"]])).group_id
    rows = await alice_store.run(lambda s: s.groups.outbox(IDS["b"]))
    for seq, frame in rows:  # bob joins: the log and alice's chain
        await bob.take(IDS["a"], encode_group_frame(Queued(seq, frame)))
    await alice.send(gid, "one")
    (seq, sealed), *_ = [
        r for r in await alice_store.run(lambda s: s.groups.outbox(IDS["b"])) if r[0] > rows[-1][0]
    ]
    queued = encode_group_frame(Queued(seq, sealed))

    to_alice = Peer(IDS["a"])
    bob.channel_open(to_alice)
    bob.resume(to_alice)
    (asked,) = [f for f in to_alice.frames() if isinstance(f, Resend)]
    bob.receive(to_alice, queued)  # on its way before the request: dropped, not acked
    bob.receive(to_alice, encode_group_frame(Resend(b"x" * 8)))  # not our nonce: a request
    bob.receive(to_alice, encode_group_frame(asked))  # the answer
    bob.receive(to_alice, queued)  # sent again after it: taken
    frames = await to_alice.wait_for(lambda sent: Ack(seq) in sent)
    assert [f for f in frames if isinstance(f, Ack)] == [Ack(seq)]
    assert [m.body for m in await bob.messages(gid)] == ["one"]

    # alice, asked, answers first, then sends again what bob has not acknowledged
    to_bob = Peer(IDS["b"])
    alice.channel_open(to_bob)  # the new session's greeting ends with alice's chain
    greeted = len(await to_bob.wait_for(lambda sent: any(isinstance(f, Key) for f in sent)))
    alice.receive(to_bob, encode_group_frame(asked))
    frames = await to_bob.wait_for(
        lambda sent: len(sent) > greeted and sent[-1] == Queued(seq, sealed)
    )
    assert frames[greeted] == asked
    waiting = await alice_store.run(lambda s: s.groups.outbox(IDS["b"]))
    assert frames[greeted + 1 :] == [Queued(s, f) for s, f in waiting]
