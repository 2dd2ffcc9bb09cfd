"""A missed-call notice owed by a caller's node outlives a crash of that node: the
callee, offline when called, still logs the missed call once both are back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path, "ab")
    yield w
    w.close()


def _log(world: ChatWorld, who: str, other: str) -> list[dict[str, Any]]:
    status, body = call(world.nodes[who], "GET", f"/api/contacts/{world.ids[other]}/calls")
    assert status == 200
    calls: list[dict[str, Any]] = body["calls"]
    return calls


def test_a_notice_owed_before_a_crash_of_the_caller_is_delivered_after_its_restart(
    world: ChatWorld,
) -> None:
    world.start("a")
    status, body = call(world.nodes["a"], "POST", f"/api/contacts/{world.ids['b']}/calls", {})
    assert (status, body["error"]["code"]) == (409, "not_reachable")
    [mine] = wait_for(lambda: _log(world, "a", "b") or None, "the unreached call logged")
    assert (mine["outcome"], mine["reason"]) == ("unanswered", "not_reachable")
    world.nodes["a"].kill()  # no clean stop: the notice must already be in the store
    world.start("a", "b")
    world.online("a", "b")
    [theirs] = wait_for(lambda: _log(world, "b", "a") or None, "the missed call at b", 20.0)
    assert (theirs["id"], theirs["direction"], theirs["outcome"]) == (mine["id"], "in", "missed")
