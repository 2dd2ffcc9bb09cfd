"""Group frames count against the sender's inbound rate limit: a burst over it is
dropped with a notice, and when the limit allows again (a timer, not the next
session) the receiver asks for the rest, which arrives exactly once, in order,
in the same session. Two real nodes through a real kith-signal."""

from __future__ import annotations

import pytest

from kith_testkit import group_api as groups
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher

pytestmark = pytest.mark.slow
# Small, so the test is quick; posting the burst would have to take over 8 s
# (60 frames, 20 in the bucket, 5 a second) for it to stay under the limit.
LIMIT = ("--inbound-rate", "5", "--inbound-burst", "20")
BURST = 30  # each costs two frames from b (the message, b's ack of a's receipt)


@pytest.fixture
def world_names() -> str:
    return "ab"


def _bodies(world: ChatWorld, who: str, gid: str, count: int) -> list[str]:
    return [m["body"] for m in groups.wait_count(world, who, gid, count, 60.0)]


def test_a_group_burst_over_the_limit_is_dropped_with_a_notice_then_arrives_once(
    world: ChatWorld,
) -> None:
    world.start("a", flags=LIMIT)
    world.start("b")
    world.online("a", "b")
    a, ids = world.nodes["a"], world.ids
    gid = groups.create(world, "b", "Flood", "a")["id"]
    assert _bodies(world, "a", gid, 0) == []
    texts = [f"burst {i:03d}" for i in range(BURST)]
    watcher = EventWatcher(a)
    try:
        for text in texts:
            groups.post(world, "b", gid, text)
        notice = watcher.wait(
            lambda e: e.get("type") == "chat_notice" and e["code"] == "rate_limited",
            "the rate limit notice",
            30,
        )
        assert notice["contact"] == ids["b"]
    finally:
        watcher.close()
    # no new session: a asks for the rest once its bucket refills; each arrives once, in order
    assert _bodies(world, "a", gid, BURST) == texts
    assert groups.rejections(world, "a") == []
