"""A reaction that overtakes the message it names is held in the store: it survives
a restart of the member's node (its hub and store reopened on the same SQLCipher
file) and applies when the message arrives, unless it waited longer than
``HELD_FOR``. Three group hubs on real stores, frames handed as the mailbox would."""

from __future__ import annotations

import time

from kith.runtime.groups.hub import HELD_FOR
from kith_testkit.group_hubs import IDS, GroupMembers


async def held(members: GroupMembers, name: str, gid: bytes) -> int:
    return await members.store(name).run(lambda s: s.groups.held_actions(gid))


async def _overtaken(members: GroupMembers) -> tuple[bytes, str]:
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
    assert await held(members, "b", gid) == 1
    return gid, message.id


async def test_a_held_reaction_survives_a_restart_and_applies_when_its_message_comes(
    members: GroupMembers,
) -> None:
    gid, _ = await _overtaken(members)
    bob = await members.restart("b")
    assert await bob.messages(gid) == []
    await members.hand("a", "b")
    (got,) = await bob.messages(gid)
    assert (got.body, got.reactions) == ("hello", {"👍": [IDS["c"]]})
    assert not bob.rejections
    assert await held(members, "b", gid) == 0


async def test_a_held_reaction_older_than_the_bound_is_dropped_at_start(
    members: GroupMembers,
) -> None:
    gid, _ = await _overtaken(members)
    later = time.time() + HELD_FOR + 60
    bob = await members.restart("b", clock=lambda: later)
    assert await held(members, "b", gid) == 0
    await members.hand("a", "b")
    (got,) = await bob.messages(gid)
    assert (got.body, got.reactions) == ("hello", {})
