"""Three group hubs, each on its own real SQLCipher store, exchanging queued group
frames as the sealed mailbox hands them over (``GroupHub.take``), no network: a
member's edit of someone else's message, forged on the wire, is refused by the
others with its error, and nothing after it is lost; receipts are counted."""

from __future__ import annotations

import time

from kith.groups.content import Edit, encode_content
from kith.groups.frames import Sealed, encode_group_frame
from kith.groups.sender_keys import encode_group_message
from kith.runtime.groups.hub import Rejection
from kith_testkit.group_hubs import IDS, GroupMembers


async def test_a_forged_edit_of_anothers_message_is_refused_and_nothing_after_it_lost(
    members: GroupMembers,
) -> None:
    alice, bob, carol = (members.hub(n) for n in "abc")
    state = await alice.create("Crag", [IDS["b"], IDS["c"]])
    gid = state.group_id
    await members.pump()
    message, _ = await alice.send(gid, "hello")
    await members.pump()
    shown = (await alice.messages(gid))[0]
    assert shown.receipts is not None
    assert (shown.receipts.delivered, shown.receipts.read, shown.receipts.of) == (2, 0, 2)

    # bob seals an edit of alice's message with his own chain and sends it to carol
    bob_store = members.store("b")
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
    await members.pump()
    (got,) = await carol.messages(gid)
    assert (got.body, got.edited_at is not None, got.reactions) == (
        "hello, all",
        True,
        {"👍": [IDS["b"]]},
    )
    assert len(carol.rejections) == 1


async def test_a_reaction_that_overtakes_the_message_it_names_waits_for_it(
    members: GroupMembers,
) -> None:
    alice, _, carol = (members.hub(n) for n in "abc")
    gid = (await alice.create("Crag", [IDS["b"], IDS["c"]])).group_id
    await members.pump()
    message, _ = await alice.send(gid, "hello")
    await members.hand("a", "c")  # carol has it, bob not yet
    await carol.react(gid, message.id, "👍", add=True)
    await members.hand("c", "b")  # carol's reaction reaches bob first
    bob = members.hub("b")
    assert await bob.messages(gid) == []
    assert not bob.rejections
    await members.hand("a", "b")
    (got,) = await bob.messages(gid)
    assert (got.body, got.reactions) == ("hello", {"👍": [IDS["c"]]})
    assert not bob.rejections


async def test_posts_sent_in_the_same_millisecond_show_in_the_order_sent(
    members: GroupMembers,
) -> None:
    """Groups list by (time, ID) and IDs are random: with a frozen clock, posts
    came out in either order until each post's time followed the previous one's."""
    alice = members.hub("a")
    gid = (await alice.create("Crag", [IDS["b"], IDS["c"]])).group_id
    await members.pump()
    frozen = time.time()
    alice = await members.restart("a", clock=lambda: frozen)
    sent = [f"post {n}" for n in range(12)]
    for body in sent:
        await alice.send(gid, body)
    await members.pump()
    for name in "abc":
        assert [m.body for m in await members.hub(name).messages(gid)] == sent
    times = [m.sent_at for m in await alice.messages(gid)]
    assert times == list(range(times[0], times[0] + 12))  # a millisecond apart
