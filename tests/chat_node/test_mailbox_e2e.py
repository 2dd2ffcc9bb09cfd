"""The sealed offline mailbox between real nodes: a real ``kith-signal --data-dir``,
real ``kith run`` processes, acting through the CLI and the nodes' local APIs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith_testkit.chat_world import ChatWorld
from kith_testkit.mailbox_world import item_ids, mailbox_file, mailbox_world, wait_items
from kith_testkit.nodes import kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    with mailbox_world(tmp_path) as w:
        yield w


def test_messages_to_an_offline_contact_arrive_once_in_order_via_the_mailbox(
    world: ChatWorld, tmp_path: Path
) -> None:
    (a,) = world.start("a")
    for n in range(20):
        ok(kith(a.data_dir, "send", "b", f"message {n}"))
    wait_items(tmp_path, 20)
    assert a.stop() == 0
    world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) >= 20, "bob to get all 20")
    assert [m.text for m in got] == [f"message {n}" for n in range(20)]
    assert {m.via for m in got} == {"mailbox"}
    assert len({m.id for m in got}) == 20
    # bob's receipt waits in alice's mailbox until she starts again
    world.start("a")
    sent = world.wait_history(
        "a", "b", lambda ms: all(m.state == "delivered" for m in ms), "alice to see delivered"
    )
    assert len(sent) == 20
    assert {m.via for m in sent} == {"direct"}  # our own messages


def test_two_invisible_users_exchange_messages(world: ChatWorld) -> None:
    a, b = world.start("a", "b", flags=("--mailbox-poll", "1"))
    for node in (a, b):
        ok(kith(node.data_dir, "status", "set", "invisible"))
    ok(kith(a.data_dir, "send", "b", "psst"))
    got = world.wait_history("b", "a", lambda ms: len(ms) == 1, "bob to get it", timeout=30)
    assert (got[0].text, got[0].via) == ("psst", "mailbox")
    ok(kith(b.data_dir, "send", "a", "psst back"))
    back = world.wait_history("a", "b", lambda ms: len(ms) == 2, "alice to get it", timeout=30)
    assert [m.text for m in back] == ["psst", "psst back"]
    world.wait_history(
        "a", "b", lambda ms: ms[0].state == "delivered", "alice's delivered", timeout=30
    )


def test_a_tampered_item_is_dropped_and_the_rest_arrive(world: ChatWorld, tmp_path: Path) -> None:
    (a,) = world.start("a")
    for n in range(3):
        ok(kith(a.data_dir, "send", "b", f"m{n}"))
    wait_items(tmp_path, 3)
    assert a.stop() == 0
    with sqlite3.connect(mailbox_file(tmp_path)) as db:
        last, item = db.execute("SELECT id, payload FROM items ORDER BY id DESC").fetchone()
        flipped = bytes([*item[:50], item[50] ^ 1, *item[51:]])  # in the sealed body
        db.execute("UPDATE items SET payload = ? WHERE id = ?", (flipped, last))
    (b,) = world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) >= 2, "bob to get the rest")
    assert [(m.text, m.via) for m in got] == [("m0", "mailbox"), ("m1", "mailbox")]
    wait_for(lambda: any("tampered" in line for line in b.lines) or None, "the drop logged")
    # all three acknowledged; what remains is bob's receipt, waiting for alice
    wait_for(lambda: item_ids(tmp_path).isdisjoint(range(last + 1)) or None, "items acked")
    # m2 is still in alice's outbox: her next run sends it again, directly or (if
    # it deposits before it sees bob online) through the mailbox; either way once
    world.start("a")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 3, "bob to get m2", timeout=30)
    assert [m.text for m in got] == ["m0", "m1", "m2"]
    assert len({m.id for m in got}) == 3
