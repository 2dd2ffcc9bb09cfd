"""Group membership: signed, versioned changes, forged/replayed ones rejected."""

from __future__ import annotations

import msgspec
import pytest

from kith.groups.errors import (
    ForgedChange,
    GroupFull,
    InvalidChange,
    ReplayedChange,
    StaleChange,
    UnknownParent,
)
from kith.groups.membership import (
    MAX_MEMBERS,
    Change,
    apply_change,
    create_group,
    decode_change,
    encode_change,
    next_change,
    replay,
    sign_change,
    wins,
)
from kith_proto.keys import IdentityKeys

ALICE, BOB, CAROL, DAVE = (IdentityKeys(bytes([n]) * 32) for n in (1, 2, 3, 4))


def test_create_makes_the_creator_admin_and_the_others_members() -> None:
    state, change = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    assert len(state.group_id) == 16
    assert state.name == "Hikers"
    assert state.version == 1
    assert dict(state.members) == {
        ALICE.kith_id: "admin",
        BOB.kith_id: "member",
        CAROL.kith_id: "member",
    }
    assert replay([decode_change(encode_change(change))]).members == state.members


def test_create_rejects_a_bad_name_and_duplicate_members() -> None:
    with pytest.raises(InvalidChange):
        create_group(ALICE, "   ")
    with pytest.raises(InvalidChange):
        create_group(ALICE, "x", [BOB.kith_id, BOB.kith_id])
    with pytest.raises(InvalidChange):
        create_group(ALICE, "x", ["not-an-id"])


def test_members_converge_on_the_same_state_from_the_same_changes() -> None:
    state, create = create_group(ALICE, "Hikers", [BOB.kith_id])
    a1, add = next_change(state, ALICE, "add", subject=CAROL.kith_id)
    a2, promote = next_change(a1.state, ALICE, "promote", subject=BOB.kith_id)
    a3, rename = next_change(a2.state, BOB, "rename", name="Climbers")
    assert a1.added == {CAROL.kith_id}
    bobs = replay([create])
    for change in (add, promote, rename):
        bobs = apply_change(bobs, change).state
    assert bobs.members == a3.state.members
    assert bobs.name == "Climbers"
    assert bobs.head == a3.state.head
    assert bobs.version == 4


def test_a_change_signed_by_a_member_who_is_not_admin_is_forged() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    with pytest.raises(ForgedChange, match="only an admin"):
        next_change(state, BOB, "add", subject=CAROL.kith_id)
    outsider = sign_change(
        Change(state.group_id, 2, state.head, DAVE.kith_id, "add", (DAVE.kith_id,)), DAVE
    )
    with pytest.raises(ForgedChange, match="not a member"):
        apply_change(state, outsider)
    _, good = next_change(state, ALICE, "add", subject=CAROL.kith_id)
    bad_signature = msgspec.structs.replace(good, subjects=(DAVE.kith_id,))
    with pytest.raises(ForgedChange, match="signature"):
        apply_change(state, bad_signature)
    impersonated = msgspec.structs.replace(good, signature=BOB.sign(good.signed_bytes()))
    with pytest.raises(ForgedChange):
        apply_change(state, impersonated)
    assert apply_change(state, good).state.is_member(CAROL.kith_id)


def test_a_replayed_or_old_change_is_rejected() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    a1, remove = next_change(state, ALICE, "remove", subject=CAROL.kith_id)
    with pytest.raises(ReplayedChange):
        apply_change(a1.state, remove)
    a2, add_back = next_change(a1.state, ALICE, "add", subject=CAROL.kith_id)
    a3, _ = next_change(a2.state, ALICE, "remove", subject=CAROL.kith_id)
    with pytest.raises(ReplayedChange):
        apply_change(a3.state, add_back)  # re-adding Carol by replaying version 3
    assert not a3.state.is_member(CAROL.kith_id)


def test_a_change_on_an_unseen_state_asks_for_the_missing_ones() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    a1, _ = next_change(state, ALICE, "add", subject=CAROL.kith_id)
    _, later = next_change(a1.state, ALICE, "add", subject=DAVE.kith_id)
    with pytest.raises(UnknownParent):
        apply_change(state, later)


def test_leave_removes_its_author_and_the_last_admin_hands_over() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    left, _ = next_change(state, ALICE, "leave")
    assert left.removed == {ALICE.kith_id}
    assert left.state.admins == {min(BOB.kith_id, CAROL.kith_id)}
    with pytest.raises(InvalidChange):
        next_change(state, BOB, "leave", subject=CAROL.kith_id)


def test_bad_membership_edits_are_invalid() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    with pytest.raises(InvalidChange):
        next_change(state, ALICE, "add", subject=BOB.kith_id)
    with pytest.raises(InvalidChange):
        next_change(state, ALICE, "remove", subject=CAROL.kith_id)
    with pytest.raises(InvalidChange):
        next_change(state, ALICE, "remove", subject=ALICE.kith_id)
    with pytest.raises(InvalidChange):
        next_change(state, ALICE, "rename", name="")
    with pytest.raises(InvalidChange):
        decode_change(b"\x93garbage")


def test_a_group_holds_at_most_max_members() -> None:
    others = [IdentityKeys(bytes([n]) * 32).kith_id for n in range(10, 10 + MAX_MEMBERS - 1)]
    state, _ = create_group(ALICE, "Full", others)
    assert len(state.members) == MAX_MEMBERS
    with pytest.raises(GroupFull):
        next_change(state, ALICE, "add", subject=BOB.kith_id)
    with pytest.raises(GroupFull):
        create_group(ALICE, "Too many", [*others, BOB.kith_id])


def test_concurrent_changes_by_two_admins_settle_the_same_way_everywhere() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    base = next_change(state, ALICE, "promote", subject=BOB.kith_id)[0].state
    _, rename_a = next_change(base, ALICE, "rename", name="A")
    _, rename_b = next_change(base, BOB, "rename", name="B")
    winner = rename_a if wins(rename_a, rename_b) else rename_b
    loser = rename_b if winner is rename_a else rename_a
    # Carol sees the winner first, then the loser; Dave's order is the other way round.
    carol = apply_change(base, winner).state
    with pytest.raises(StaleChange, match="lost"):
        apply_change(carol, loser)
    dave_first = apply_change(base, loser).state
    switched = apply_change(dave_first, winner)
    assert switched.dropped == (loser,)
    assert switched.state.head == carol.head
    assert switched.state.name == carol.name


def test_a_removal_of_the_other_admin_wins_the_concurrent_rule() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    base = next_change(state, ALICE, "promote", subject=BOB.kith_id)[0].state
    _, remove_bob = next_change(base, ALICE, "remove", subject=BOB.kith_id)
    _, bob_adds = next_change(base, BOB, "add", subject=DAVE.kith_id)
    assert wins(remove_bob, bob_adds)
    assert not wins(bob_adds, remove_bob)
    seen_bob_first = apply_change(base, bob_adds).state
    settled = apply_change(seen_bob_first, remove_bob).state
    assert not settled.is_member(BOB.kith_id)
    assert not settled.is_member(DAVE.kith_id)


def test_a_fork_below_the_head_is_stale() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    base = next_change(state, ALICE, "promote", subject=BOB.kith_id)[0].state
    a1, _ = next_change(base, ALICE, "rename", name="A")
    a2, _ = next_change(a1.state, ALICE, "rename", name="AA")
    _, bobs = next_change(base, BOB, "remove", subject=ALICE.kith_id)
    with pytest.raises(StaleChange, match="older"):
        apply_change(a2.state, bobs)
