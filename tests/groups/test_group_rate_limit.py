"""Group frames count against the sender's inbound rate limit: a burst over it is
dropped with a notice, and when the limit allows again (a timer, not the next
session) the receiver asks for the rest, which arrives exactly once, in order,
in the same session. Two real nodes through a real kith-signal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher, call
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
# Small, so the test is quick; posting the burst would have to take over 8 s
# (60 frames, 20 in the bucket, 5 a second) for it to stay under the limit.
LIMIT = ("--inbound-rate", "5", "--inbound-burst", "20")
BURST = 30  # each costs two frames from b (the message, b's ack of a's receipt)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path, "ab")
    yield w
    w.close()


def _bodies(world: ChatWorld, who: str, gid: str, count: int) -> list[str]:
    def probe() -> list[str] | None:
        status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}/messages")
        got: list[dict[str, Any]] = body["messages"] if status == 200 else []
        return [m["body"] for m in got] if len(got) >= count else None

    return wait_for(probe, f"{who} holds {count} group messages", 60.0)


def test_a_group_burst_over_the_limit_is_dropped_with_a_notice_then_arrives_once(
    world: ChatWorld,
) -> None:
    world.start("a", flags=LIMIT)
    world.start("b")
    world.online("a", "b")
    a, b, ids = world.nodes["a"], world.nodes["b"], world.ids
    status, made = call(b, "POST", "/api/groups", {"name": "Flood", "members": [ids["a"]]})
    assert status == 201
    gid = made["id"]
    assert _bodies(world, "a", gid, 0) == []
    texts = [f"burst {i:03d}" for i in range(BURST)]
    watcher = EventWatcher(a)
    try:
        for text in texts:
            assert call(b, "POST", f"/api/groups/{gid}/messages", {"text": text})[0] == 201
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
    status, body = call(a, "GET", "/api/group-rejections")
    assert (status, body["rejections"]) == (200, [])
