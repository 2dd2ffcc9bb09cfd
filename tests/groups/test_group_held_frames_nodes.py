"""A new member's sender key and post that reach another member before the admin's
change that adds him are kept across a restart of that member's node: alice adds
bob to her group with carol while carol is away, bob posts to the group, alice
stops (her change stays queued for carol), carol comes back to bob's key and post
(acknowledged, and held: bob is no member to her yet, so his log is refused too),
restarts with bob gone, and when alice returns with the change bob's post shows.
Three real nodes through a real kith-signal (no mailbox: frames wait for the
sessions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow

HOLDING = "holding a group frame"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path, "abc")
    yield w
    w.close()


def _holds(
    world: ChatWorld, who: str, gid: str, check: Callable[[dict[str, dict[str, Any]]], bool]
) -> dict[str, dict[str, Any]]:
    def probe() -> dict[str, dict[str, Any]] | None:
        status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}/messages")
        if status != 200:
            return None  # the group has not reached them yet
        by_body = {m["body"]: m for m in body["messages"]}
        return by_body if check(by_body) else None

    return wait_for(probe, f"{who}'s group messages", 20.0)


def _members(world: ChatWorld, who: str, gid: str) -> set[str]:
    status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}")
    assert status == 200, body
    return {m["id"] for m in body["members"]}


def test_an_early_key_and_post_survive_a_restart_until_the_change_comes(
    world: ChatWorld,
) -> None:
    world.start("a", "b")
    world.start("c", flags=("-v",))  # logs each frame it holds
    for x, y in (("a", "b"), ("a", "c"), ("b", "c")):
        world.online(x, y)
    ids = world.ids
    body = {"name": "Ridge", "members": [ids["c"]]}
    status, made = call(world.nodes["a"], "POST", "/api/groups", body)
    assert status == 201
    gid = made["id"]
    _holds(world, "c", gid, lambda got: True)

    assert world.nodes["c"].stop() == 0
    status, _ = call(world.nodes["a"], "POST", f"/api/groups/{gid}/members", {"member": ids["b"]})
    assert status == 200
    _holds(world, "b", gid, lambda got: True)
    status, _ = call(world.nodes["b"], "POST", f"/api/groups/{gid}/messages", {"text": "early"})
    assert status == 201
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
    assert ids["b"] not in _members(world, "c", gid)
    assert world.nodes["b"].stop() == 0
    assert carol.stop() == 0

    world.start("a", "c")
    world.online("a", "c")
    got = _holds(world, "c", gid, lambda got: "early" in got)
    assert got["early"]["sender"] == ids["b"]
    assert ids["b"] in _members(world, "c", gid)
    status, body = call(world.nodes["c"], "GET", "/api/group-rejections")
    assert (status, body["rejections"]) == (200, [])
