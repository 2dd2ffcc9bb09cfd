"""A forged membership change between real nodes: b, a member but no admin, signs
a removal of c with b's own identity key (the pure ``kith.groups.membership``
functions, as a modified client would) and b's node sends it to c as a real
queued group frame over their pair session. c refuses it with
``forged_group_change``, its group is unchanged, and b's next message still
arrives. Three real nodes through a real kith-signal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kith.account import open_store
from kith.datadir import DataDir
from kith.groups.frames import Changes, encode_group_frame
from kith.groups.membership import Change, encode_change, sign_change
from kith.passphrases import FixedPassphrase
from kith_testkit.chat_world import ChatWorld
from kith_testkit.node_api import call
from kith_testkit.nodes import PASSPHRASE
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path, "abc")
    yield w
    w.close()


def _group(world: ChatWorld, who: str, gid: str) -> dict[str, Any]:
    status, body = call(world.nodes[who], "GET", f"/api/groups/{gid}")
    assert status == 200, body
    group: dict[str, Any] = body
    return group


def _has_group(world: ChatWorld, who: str, gid: str) -> Callable[[], bool | None]:
    return lambda: call(world.nodes[who], "GET", f"/api/groups/{gid}")[0] == 200 or None


def _rejections(world: ChatWorld, who: str) -> list[dict[str, str]]:
    status, body = call(world.nodes[who], "GET", "/api/group-rejections")
    assert status == 200
    rejections: list[dict[str, str]] = body["rejections"]
    return rejections


def _forge_removal(path: Path, gid: str, victim: str) -> None:
    """In b's stopped node: sign ``remove victim`` with b's key on top of the group's
    log and queue the whole log as a group frame for the victim."""
    with open_store(DataDir(path), FixedPassphrase(PASSPHRASE)) as store:
        keys = store.identity.keys()
        record = store.groups.get(bytes.fromhex(gid))
        assert record is not None
        assert not record.state.is_admin(keys.kith_id)
        state = record.state
        forged = sign_change(
            Change(
                state.group_id, state.version + 1, state.head, keys.kith_id, "remove", (victim,), ""
            ),
            keys,
        )
        log = [encode_change(c) for c in (*state.log, forged)]
        with store.transaction():
            store.groups.outbox_put([(victim, encode_group_frame(Changes(log)))])


def test_a_members_signed_removal_is_refused_by_the_others_and_changes_nothing(
    world: ChatWorld,
) -> None:
    world.start("a", "b", "c")
    for x, y in (("a", "b"), ("a", "c"), ("b", "c")):
        world.online(x, y)
    ids = world.ids
    status, made = call(
        world.nodes["a"], "POST", "/api/groups", {"name": "Ridge", "members": [ids["b"], ids["c"]]}
    )
    assert status == 201
    gid = made["id"]
    for who in "bc":
        wait_for(_has_group(world, who, gid), f"{who} has the group", 20.0)
    before = _group(world, "c", gid)
    assert (before["version"], len(before["members"])) == (1, 3)

    assert world.nodes["b"].stop() == 0
    _forge_removal(world.dirs["b"], gid, ids["c"])
    world.start("b")
    world.online("b", "c")  # the new session sends b's queue, the forged log with it

    def refused() -> list[dict[str, str]] | None:
        found = [r for r in _rejections(world, "c") if r["contact"] == ids["b"]]
        return found or None

    assert wait_for(refused, "c refuses b's forged change", 20.0) == [
        {"contact": ids["b"], "code": "forged_group_change"}
    ]
    after = _group(world, "c", gid)
    assert (after["version"], after["members"], after["name"]) == (
        1,
        before["members"],
        "Ridge",
    )
    assert after["active"]

    # nothing else lost: b's next message reaches c
    assert (
        call(world.nodes["b"], "POST", f"/api/groups/{gid}/messages", {"text": "still here"})[0]
        == 201
    )

    def delivered() -> list[str] | None:
        status, body = call(world.nodes["c"], "GET", f"/api/groups/{gid}/messages")
        texts = [m["body"] for m in body["messages"]] if status == 200 else []
        return texts if texts == ["still here"] else None

    assert wait_for(delivered, "c has b's next message", 20.0) == ["still here"]
    assert _group(world, "b", gid)["version"] == 1  # b's own node never took it either
