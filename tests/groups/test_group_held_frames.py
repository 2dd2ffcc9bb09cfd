"""A sender key or sealed message that reaches a member before the change or key it
needs is held in the store (it was acknowledged on arrival, so its sender will not
send it again): it survives a restart of the member's node (hub and store reopened
on the same SQLCipher file) and applies, in order, when what it needs arrives;
at most ``MAX_WAITING`` per group (the oldest go) for at most ``HELD_FOR``, and a
malformed frame is refused, not held. Three group hubs on real stores, frames
handed as the mailbox would."""

from __future__ import annotations

import logging
import time

import pytest

from kith.groups.content import encode_content
from kith.groups.frames import Post, Queued, Sealed, encode_group_frame
from kith.groups.keyring import GroupKeyring
from kith.groups.sender_keys import encode_group_message
from kith.runtime.groups import hub as hub_module
from kith.runtime.groups.hub import HELD_FOR
from kith_testkit.group_hubs import IDS, GroupMembers


async def held(members: GroupMembers, name: str, gid: bytes) -> list[bytes]:
    rows = await members.store(name).run(lambda s: s.groups.held_frames(gid))
    return [frame for _, _, frame in rows]


async def bodies(members: GroupMembers, name: str, gid: bytes) -> list[str]:
    return [m.body for m in await members.hub(name).messages(gid)]


async def _exchange(members: GroupMembers, names: str) -> None:
    for sender in names:
        for receiver in names:
            if sender != receiver:
                await members.hand(sender, receiver)


async def _carol_early(members: GroupMembers) -> bytes:
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
    members: GroupMembers,
) -> None:
    gid = await _carol_early(members)
    assert len(await held(members, "b", gid)) == 3  # carol's key and both posts
    bob = await members.restart("b")
    assert await bodies(members, "b", gid) == []
    await members.hand("a", "b")  # the change that adds carol
    assert await bodies(members, "b", gid) == ["one", "two"]
    assert not bob.rejections
    assert await held(members, "b", gid) == []


async def test_a_member_of_a_group_we_do_not_know_yet_is_heard_after_a_restart(
    members: GroupMembers,
) -> None:
    alice, carol = members.hub("a"), members.hub("c")
    gid = (await alice.create("Scree", [IDS["b"], IDS["c"]])).group_id
    await members.hand("a", "c")
    await carol.send(gid, "first")
    await members.hand("c", "b")  # bob has not got the group at all yet
    assert len(await held(members, "b", gid)) == 2
    bob = await members.restart("b")
    await members.hand("a", "b")
    assert await bodies(members, "b", gid) == ["first"]
    assert not bob.rejections


async def test_frames_held_longer_than_the_bound_are_dropped_at_start(
    members: GroupMembers, caplog: pytest.LogCaptureFixture
) -> None:
    gid = await _carol_early(members)
    later = time.time() + HELD_FOR + 60
    with caplog.at_level(logging.WARNING, logger="test.groups.b"):
        await members.restart("b", clock=lambda: later)
    assert "held_too_long" in caplog.text
    assert await held(members, "b", gid) == []
    await members.hand("a", "b")
    assert await bodies(members, "b", gid) == []  # gone, as documented


async def test_past_the_bound_the_oldest_go_and_a_malformed_frame_is_not_held(
    members: GroupMembers, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
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
    with caplog.at_level(logging.WARNING, logger="test.groups.b"):
        for seq, frame in enumerate(frames, 1):
            await bob.take(IDS["c"], encode_group_frame(Queued(seq, frame)))
    assert await held(members, "b", gid) == frames[2:]
    assert "too_many_held" in caplog.text
    await bob.take(IDS["c"], encode_group_frame(Queued(6, b"\x93not a frame")))
    assert bob.rejections[-1].code
    assert await held(members, "b", gid) == frames[2:]
    await alice.send(gid, "still heard")
    await members.hand("a", "b")
    assert await bodies(members, "b", gid) == ["still heard"]
    assert await held(members, "b", gid) == frames[2:]  # a change or key of hers frees them
