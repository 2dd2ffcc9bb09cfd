"""Messaging end to end: a real ``kith-signal``, real ``kith run`` nodes, real
WebRTC on loopback, acting through the real CLI and the nodes' local APIs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from chat_support import ChatWorld, kith, ok

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path)
    yield w
    w.close()


def test_round_trip_both_ways(world: ChatWorld) -> None:
    a, b = world.start("a", "b")
    world.online("a", "b")
    ok(kith(a.data_dir, "send", "b", "hello bob"))
    got = world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to receive")
    assert (got[0].text, got[0].sender, got[0].state) == ("hello bob", world.ids["a"], "received")
    sent = world.wait_history(
        "a", "b", lambda ms: ms[0].state == "delivered", "alice to see delivered"
    )
    assert sent[0].id == got[0].id
    ok(kith(b.data_dir, "send", world.ids["a"], "hi alice"))
    world.wait_history("a", "b", lambda ms: len(ms) == 2, "alice to receive")
    assert [m.text for m in world.history("a", "b")] == ["hello bob", "hi alice"]
