"""Stored before acknowledged, end to end: real ``kith-signal``, real nodes,
real WebRTC on loopback. The receiver is killed (SIGKILL) right after it has
receipted part of a burst that arrives in batches: every message the sender
saw delivered is in the receiver's database."""

from __future__ import annotations

import json
import threading

import pytest

from kith.api.client import NodeBackend
from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import kith, ok

pytestmark = pytest.mark.slow

SENDERS = 4
EACH = 100


def test_every_receipted_message_is_in_the_killed_receivers_database(world: ChatWorld) -> None:
    a, b = world.start("a", "b", flags=("--inbound-rate", "100000", "--inbound-burst", "100000"))
    world.online("a", "b")
    texts = [[f"sender {s} message {i:03d}" for i in range(EACH)] for s in range(SENDERS)]

    def send(batch: list[str]) -> None:
        api = NodeBackend(a.info)  # one HTTP connection per thread
        try:
            for text in batch:
                api.send_message(world.ids["b"], text)
        finally:
            api.close()

    threads = [threading.Thread(target=send, args=(ts,)) for ts in texts]
    for thread in threads:
        thread.start()

    def delivered() -> set[str]:
        return {m.id for m in world.history("a", "b") if m.state == "delivered"}

    world.wait_history(
        "a", "b", lambda ms: sum(m.state == "delivered" for m in ms) >= 20, "receipts to arrive"
    )
    b.kill()
    for thread in threads:
        thread.join(30)
    world.nodes["a"].sees(world.ids["b"], "offline")  # receipts still in flight have landed
    receipted = delivered()

    # bob's database as the crash left it (read with no node running: nothing resent yet)
    stored = json.loads(ok(kith(world.dirs["b"], "messages", "a", "--json", "--limit", "1000")))
    stored_ids = {m["id"] for m in stored}
    assert 20 <= len(receipted) < SENDERS * EACH  # killed in the middle of the burst
    assert receipted <= stored_ids
    assert len(stored) == len(stored_ids)  # nothing stored twice
