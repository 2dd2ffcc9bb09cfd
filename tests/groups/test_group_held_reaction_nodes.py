"""A reaction that reaches a member before the message it names is kept across a
restart of that member's node: b reacts to c's message while a is away; a comes
back to b's reaction (c is stopped, so its message is still queued for a),
restarts, and when c returns with the message the reaction is on it. Three real
nodes through a real kith-signal (no mailbox: frames wait for the sessions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


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


def _post(world: ChatWorld, who: str, gid: str, text: str) -> str:
    status, body = call(world.nodes[who], "POST", f"/api/groups/{gid}/messages", {"text": text})
    assert status == 201, body
    message_id: str = body["message"]["id"]
    return message_id


def test_a_reaction_held_for_its_message_survives_a_restart_of_the_node(world: ChatWorld) -> None:
    world.start("a", "b", "c")
    for x, y in (("a", "b"), ("a", "c"), ("b", "c")):
        world.online(x, y)
    ids = world.ids
    status, made = call(
        world.nodes["a"], "POST", "/api/groups", {"name": "Col", "members": [ids["b"], ids["c"]]}
    )
    assert status == 201
    gid = made["id"]
    for who in "abc":  # every chain reaches every member
        _holds(world, who, gid, lambda got: True)
        _post(world, who, gid, f"hi from {who}")
    for who in "abc":
        _holds(world, who, gid, lambda got: len(got) == 3)

    assert world.nodes["a"].stop() == 0
    summit = _post(world, "c", gid, "the summit")
    _holds(world, "b", gid, lambda got: "the summit" in got)
    assert world.nodes["c"].stop() == 0  # its message stays queued for a
    react = f"/api/groups/{gid}/messages/{summit}/reactions"
    assert call(world.nodes["b"], "POST", react, {"emoji": "👍"})[0] == 200
    _post(world, "b", gid, "after the reaction")

    world.start("a")
    world.online("a", "b")
    got = _holds(world, "a", gid, lambda got: "after the reaction" in got)
    assert "the summit" not in got  # b's reaction came first and waits

    assert world.nodes["a"].stop() == 0
    world.start("a", "c")
    world.online("a", "c")
    got = _holds(world, "a", gid, lambda got: "the summit" in got)
    assert got["the summit"]["reactions"] == {"👍": [ids["b"]]}
    status, body = call(world.nodes["a"], "GET", "/api/group-rejections")
    assert (status, body["rejections"]) == (200, [])
