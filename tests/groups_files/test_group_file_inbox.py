"""A member's side of a group file over a real SQLCipher store and vault: a stored post
that carries a file makes the member expect the sender's offer under the derived ID;
a file that would not fit is refused at once; a transfer under that ID that is not the
post's file is cancelled; a post without a file changes nothing."""

from __future__ import annotations

import logging
from pathlib import Path

from kith.files import TransferState
from kith.groups.files import GroupFile, transfer_id
from kith.groups.frames import Post
from kith.runtime.files.transfers import FileTransfers
from kith.runtime.groups.files import GroupFileInbox
from kith.runtime.live import EventHub
from kith.store.files import FileRecord
from kith_testkit.chat_driver_harness import BOB, ME, NOW, StoreRunner, new_store

MID = "ab" * 16
SHA = "cd" * 32
SIZE = 200_000
PLAN = GroupFile("../plan.pdf", SIZE, SHA)


def _transfers(tmp_path: Path, free: int = 2**40) -> FileTransfers:
    return FileTransfers(
        store=StoreRunner(new_store(tmp_path)),
        directory=tmp_path / "files",
        hub=EventHub(),
        log=logging.getLogger("t"),
        free_space=lambda _path: free,
    )


def _post(file: GroupFile | None = PLAN) -> Post:
    return Post(MID, "the plan", int(NOW * 1000), file)


async def test_a_post_with_a_file_makes_the_member_expect_the_senders_offer(
    tmp_path: Path,
) -> None:
    files = _transfers(tmp_path)
    await GroupFileInbox(files, ME.kith_id).incoming(BOB.kith_id, _post())
    view = await files.get(transfer_id(MID, BOB.kith_id, ME.kith_id))
    assert (view.contact_id, view.direction, view.state) == (BOB.kith_id, "in", "queued")
    assert (view.name, view.size, view.sha256) == ("plan.pdf", SIZE, SHA)  # the name sanitised
    assert files.pending(BOB.kith_id)  # the driver connects to the sender when online


async def test_a_file_that_would_not_fit_is_refused_when_the_post_arrives(
    tmp_path: Path,
) -> None:
    files = _transfers(tmp_path, free=SIZE)  # the reserve would not stay free
    await GroupFileInbox(files, ME.kith_id).incoming(BOB.kith_id, _post())
    view = await files.get(transfer_id(MID, BOB.kith_id, ME.kith_id))
    assert (view.state, view.reason) == ("failed", "too_large")
    assert not files.pending(BOB.kith_id)


async def test_a_transfer_under_the_id_that_is_not_the_posts_file_is_cancelled(
    tmp_path: Path,
) -> None:
    files = _transfers(tmp_path)
    tid = transfer_id(MID, BOB.kith_id, ME.kith_id)
    # an offer that came first, of another file: its transfer as the offer stored it
    await files.add(
        FileRecord(
            tid, BOB.kith_id, "in", "x.bin", SIZE, "ef" * 32, "", TransferState.SENDING, None,
            0, int(NOW),
        )
    )  # fmt: skip
    await GroupFileInbox(files, ME.kith_id).incoming(BOB.kith_id, _post())
    assert (await files.get(tid)).state == TransferState.CANCELLED.value


async def test_a_post_without_a_file_changes_nothing(tmp_path: Path) -> None:
    files = _transfers(tmp_path)
    await GroupFileInbox(files, ME.kith_id).incoming(BOB.kith_id, _post(None))
    assert await files.for_contact(BOB.kith_id) == []
