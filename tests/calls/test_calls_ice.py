"""The page's ICE configuration for calls: the TURN relays and credentials from the
server's welcome, the STUN setting, and relay_only turning the page to relays only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.nodes import NodeProcess, kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
TURN = "turn:127.0.0.1:3478"
STUN = "stun:127.0.0.1:3479"


def test_turn_from_the_server_and_relay_only_reach_the_page(tmp_path: Path) -> None:
    secret = tmp_path / "turn-secret"
    secret.write_text("s3cret-for-tests\n")
    world = ChatWorld(tmp_path, "ab", ("--turn-url", TURN, "--turn-secret-file", str(secret)))
    try:
        ok(kith(world.dirs["a"], "settings", "set", "stun_servers", STUN))
        ok(kith(world.dirs["b"], "settings", "set", "stun_servers", STUN))
        ok(kith(world.dirs["b"], "settings", "set", "relay_only", "true"))
        a, b = world.start("a", "b")
        a.connection_is("connected")
        b.connection_is("connected")

        def ice(node: NodeProcess) -> dict[str, Any] | None:
            status, body = call(node, "GET", "/api/calls/ice")
            assert status == 200
            return body if any("username" in s for s in body["iceServers"]) else None

        mine = wait_for(lambda: ice(a), "TURN credentials on a")
        assert mine["iceTransportPolicy"] == "all"
        assert mine["iceServers"][0] == {"urls": [STUN]}
        turn = mine["iceServers"][1]
        assert turn["urls"] == [TURN]
        assert turn["username"]
        assert turn["credential"]

        relay = wait_for(lambda: ice(b), "TURN credentials on b")
        assert relay["iceTransportPolicy"] == "relay"
        assert [s["urls"] for s in relay["iceServers"]] == [[TURN]]  # no STUN: relays only
    finally:
        world.close()
