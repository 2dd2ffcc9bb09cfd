"""A forged membership change between real nodes: b, a member but no admin, signs
a removal of c with b's own identity key (the pure ``kith.groups.membership``
functions, as a modified client would) and b's node sends it to c as a real
queued group frame over their pair session. c refuses it with
``forged_group_change``, its group is unchanged, and b's next message still
arrives. Three real nodes through a real kith-signal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kith.account import open_store
from kith.datadir import DataDir
from kith.groups.frames import Changes, encode_group_frame
from kith.groups.membership import Change, encode_change, sign_change
from kith.passphrases import FixedPassphrase
from kith_testkit import group_api as groups
from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import PASSPHRASE
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow


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
    groups.all_online(world, "abc")
    ids = world.ids
    gid = groups.create(world, "a", "Ridge", "bc")["id"]
    for who in "bc":
        groups.wait_known(world, who, gid)
    before = groups.details(world, "c", gid)
    assert (before["version"], len(before["members"])) == (1, 3)

    assert world.nodes["b"].stop() == 0
    _forge_removal(world.dirs["b"], gid, ids["c"])
    world.start("b")
    world.online("b", "c")  # the new session sends b's queue, the forged log with it

    def refused() -> list[dict[str, str]] | None:
        found = [r for r in groups.rejections(world, "c") if r["contact"] == ids["b"]]
        return found or None

    assert wait_for(refused, "c refuses b's forged change", 20.0) == [
        {"contact": ids["b"], "code": "forged_group_change"}
    ]
    after = groups.details(world, "c", gid)
    assert (after["version"], after["members"], after["name"]) == (
        1,
        before["members"],
        "Ridge",
    )
    assert after["active"]

    # nothing else lost: b's next message reaches c
    groups.post(world, "b", gid, "still here")

    def texts(got: list[dict[str, Any]]) -> list[str]:
        return [m["body"] for m in got]

    delivered = groups.wait_messages(
        world, "c", gid, lambda got: texts(got) == ["still here"], "b's next message"
    )
    assert texts(delivered) == ["still here"]
    assert groups.details(world, "b", gid)["version"] == 1  # b's own node never took it either
