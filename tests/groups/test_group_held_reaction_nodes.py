"""A reaction that reaches a member before the message it names is kept across a
restart of that member's node: b reacts to c's message while a is away; a comes
back to b's reaction (c is stopped, so its message is still queued for a),
restarts, and when c returns with the message the reaction is on it. Three real
nodes through a real kith-signal (no mailbox: frames wait for the sessions)."""

from __future__ import annotations

import pytest

from kith_testkit import group_api as groups
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call

pytestmark = pytest.mark.slow


def test_a_reaction_held_for_its_message_survives_a_restart_of_the_node(world: ChatWorld) -> None:
    world.start("a", "b", "c")
    groups.all_online(world, "abc")
    ids = world.ids
    gid = groups.create(world, "a", "Col", "bc")["id"]
    for who in "abc":  # every chain reaches every member
        groups.wait_by_body(world, who, gid, lambda got: True)
        groups.post(world, who, gid, f"hi from {who}")
    for who in "abc":
        groups.wait_by_body(world, who, gid, lambda got: len(got) == 3)

    assert world.nodes["a"].stop() == 0
    summit = groups.post(world, "c", gid, "the summit")["message"]["id"]
    groups.wait_by_body(world, "b", gid, lambda got: "the summit" in got)
    assert world.nodes["c"].stop() == 0  # its message stays queued for a
    react = f"/api/groups/{gid}/messages/{summit}/reactions"
    assert call(world.nodes["b"], "POST", react, {"emoji": "👍"})[0] == 200
    groups.post(world, "b", gid, "after the reaction")

    world.start("a")
    world.online("a", "b")
    got = groups.wait_by_body(world, "a", gid, lambda got: "after the reaction" in got)
    assert "the summit" not in got  # b's reaction came first and waits

    assert world.nodes["a"].stop() == 0
    world.start("a", "c")
    world.online("a", "c")
    # The held reaction is applied once the message is stored: wait for both.
    got = groups.wait_by_body(
        world, "a", gid, lambda got: bool(got.get("the summit", {}).get("reactions"))
    )
    assert got["the summit"]["reactions"] == {"👍": [ids["b"]]}
    assert groups.rejections(world, "a") == []
