"""A new member's sender key and post that reach another member before the admin's
change that adds him are kept across a restart of that member's node: alice adds
bob to her group with carol while carol is away, bob posts to the group, alice
stops (her change stays queued for carol), carol comes back to bob's key and post
(acknowledged, and held: bob is no member to her yet, so his log is refused too),
restarts with bob gone, and when alice returns with the change bob's post shows.
Three real nodes through a real kith-signal (no mailbox: frames wait for the
sessions)."""

from __future__ import annotations

import pytest

from kith_testkit import group_api as groups
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow

HOLDING = "holding a group frame"


def test_an_early_key_and_post_survive_a_restart_until_the_change_comes(
    world: ChatWorld,
) -> None:
    world.start("a", "b")
    world.start("c", flags=("-v",))  # logs each frame it holds
    groups.all_online(world, "abc")
    ids = world.ids
    gid = groups.create(world, "a", "Ridge", "c")["id"]
    groups.wait_by_body(world, "c", gid, lambda got: True)

    assert world.nodes["c"].stop() == 0
    status, _ = call(world.nodes["a"], "POST", f"/api/groups/{gid}/members", {"member": ids["b"]})
    assert status == 200
    groups.wait_by_body(world, "b", gid, lambda got: True)
    groups.post(world, "b", gid, "early")
    assert world.nodes["a"].stop() == 0  # its change stays queued for carol

    # carol hears from bob, whom she does not know as a member yet (his log is refused)
    world.start("c", flags=("-v",))
    world.online("b", "c")
    carol = world.nodes["c"]
    wait_for(
        lambda: sum(HOLDING in line for line in carol.lines) >= 2 or None,
        "carol to hold bob's key and post",
        20.0,
    )
    assert ids["b"] not in groups.members(world, "c", gid)
    assert world.nodes["b"].stop() == 0
    assert carol.stop() == 0

    world.start("a", "c")
    world.online("a", "c")
    got = groups.wait_by_body(world, "c", gid, lambda got: "early" in got)
    assert got["early"]["sender"] == ids["b"]
    assert ids["b"] in groups.members(world, "c", gid)
    assert groups.rejections(world, "c") == []
