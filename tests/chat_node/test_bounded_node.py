"""A contact cannot grow a node without bound: the history stays in the
database (RSS independent of its length) and a contact's frames are taken at
a bounded rate, with nothing acknowledged lost. Real ``kith-signal``, real
``kith run`` nodes, real SQLCipher files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kith.account import open_store
from kith.chat import Message, MessageState, Party
from kith.datadir import DataDir
from kith.passphrases import FixedPassphrase
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import EventWatcher
from kith_testkit.nodes import PASSPHRASE, NodeProcess

pytestmark = pytest.mark.slow

HISTORY = 10_000
TEXT_CHARS = 2_000  # 20 MB of text: held whole, it would show plainly in RSS
RSS_BOUND_MIB = 15.0
LIMIT = ("--inbound-rate", "20", "--inbound-burst", "200")  # small, so the test is quick
BURST = 400  # twice the inbound burst allowance


def rss_mib(node: NodeProcess) -> float:
    """The node process's resident set size."""
    status = Path(f"/proc/{node.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def write_history(data_dir: Path, contact_id: str, count: int) -> list[str]:
    """Store ``count`` messages received from ``contact_id``, straight into the database."""
    ids = [f"{n + 1:032x}" for n in range(count)]
    store = open_store(DataDir(data_dir), FixedPassphrase(PASSPHRASE))
    with store, store.transaction():
        for n, message_id in enumerate(ids):
            text = f"{n:05d} " + "x" * TEXT_CHARS
            sent_at = 1_700_000_000_000 + n
            message = Message(message_id, Party.PEER, text, sent_at, MessageState.RECEIVED, n + 1)
            store.messages.put(contact_id, message)
        store.cursors.set_peer_next_seq(contact_id, count + 1)
    return ids


def settled_rss(node: NodeProcess) -> float:
    """RSS once the node has answered an API call (conversations restored)."""
    node.api.contacts()
    return rss_mib(node)


def test_rss_does_not_grow_with_the_history(world: ChatWorld) -> None:
    (empty,) = world.start("a")
    baseline = settled_rss(empty)
    assert empty.stop() == 0
    ids = write_history(world.dirs["a"], world.ids["b"], HISTORY)
    (full,) = world.start("a")
    loaded = settled_rss(full)
    assert loaded - baseline < RSS_BOUND_MIB, (baseline, loaded)
    # the oldest message is not held, yet still reachable: paged and reacted to
    page = full.api.messages(world.ids["b"], 1000)
    assert [m.id for m in page] == ids[-1000:]
    reacted = full.api.react(ids[0], "👍", True)
    assert reacted.reactions == {"👍": [world.ids["a"]]}
    assert reacted.text.startswith("00000 ")


def test_a_burst_over_the_rate_limit_arrives_once_with_a_notice(world: ChatWorld) -> None:
    (a,) = world.start("a")
    texts = [f"burst {i:03d}" for i in range(BURST)]
    for text in texts:  # queued: bob is not running
        a.api.send_message(world.ids["b"], text)
    (b,) = world.start("b", flags=LIMIT)
    watcher = EventWatcher(b)
    try:
        notice = watcher.wait(
            lambda e: e.get("type") == "chat_notice" and e["code"] == "rate_limited",
            "the rate limit notice",
            30,
        )
        assert notice["contact"] == world.ids["a"]
    finally:
        watcher.close()
    got = world.wait_history("b", "a", lambda ms: len(ms) >= BURST, "every message", 60)
    assert [m.text for m in got] == texts
    assert len({m.id for m in got}) == BURST
    world.wait_history(
        "a", "b", lambda ms: all(m.state == "delivered" for m in ms), "all delivered", 30
    )
