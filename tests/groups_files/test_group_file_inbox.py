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


def _transfers(tmp_path: Path, free: int = 2**40) -> tuple[FileTransfers, GroupFileInbox]:
    runner = StoreRunner(new_store(tmp_path))
    files = FileTransfers(
        store=runner,
        directory=tmp_path / "files",
        hub=EventHub(),
        log=logging.getLogger("t"),
        free_space=lambda _path: free,
    )
    return files, GroupFileInbox(files, ME.kith_id, runner)


def _post(file: GroupFile | None = PLAN) -> Post:
    return Post(MID, "the plan", int(NOW * 1000), file)


async def test_a_post_with_a_file_makes_the_member_expect_the_senders_offer(
    tmp_path: Path,
) -> None:
    files, inbox = _transfers(tmp_path)
    await inbox.incoming(BOB.kith_id, _post())
    view = await files.get(transfer_id(MID, BOB.kith_id, ME.kith_id))
    assert (view.contact_id, view.direction, view.state) == (BOB.kith_id, "in", "queued")
    assert (view.name, view.size, view.sha256) == ("plan.pdf", SIZE, SHA)  # the name sanitised
    assert files.pending(BOB.kith_id)  # the driver connects to the sender when online


async def test_a_file_that_would_not_fit_is_refused_when_the_post_arrives(
    tmp_path: Path,
) -> None:
    files, inbox = _transfers(tmp_path, free=SIZE)  # the reserve would not stay free
    await inbox.incoming(BOB.kith_id, _post())
    view = await files.get(transfer_id(MID, BOB.kith_id, ME.kith_id))
    assert (view.state, view.reason) == ("failed", "too_large")
    assert not files.pending(BOB.kith_id)


async def test_a_transfer_under_the_id_that_is_not_the_posts_file_is_cancelled(
    tmp_path: Path,
) -> None:
    files, inbox = _transfers(tmp_path)
    tid = transfer_id(MID, BOB.kith_id, ME.kith_id)
    # an offer that came first, of another file: its transfer as the offer stored it
    await files.add(
        FileRecord(
            tid, BOB.kith_id, "in", "x.bin", SIZE, "ef" * 32, "", TransferState.SENDING, None,
            0, int(NOW),
        )
    )  # fmt: skip
    await inbox.incoming(BOB.kith_id, _post())
    assert (await files.get(tid)).state == TransferState.CANCELLED.value


async def test_a_post_without_a_file_changes_nothing(tmp_path: Path) -> None:
    files, inbox = _transfers(tmp_path)
    await inbox.incoming(BOB.kith_id, _post(None))
    assert await files.for_contact(BOB.kith_id) == []


async def test_deleting_our_file_message_deletes_every_transfer_and_the_shared_copy(
    tmp_path: Path,
) -> None:
    files, inbox = _transfers(tmp_path)
    vault = await files.vault()
    source = tmp_path / "plan.pdf"
    source.write_bytes(b"p" * SIZE)
    size, sha = vault.import_file(MID, source)
    members = [BOB.kith_id, "someone-else"]
    for member in members:
        await files.add(
            FileRecord(
                transfer_id(MID, ME.kith_id, member), member, "out", "plan.pdf", size, sha, "",
                TransferState.QUEUED, None, 0, int(NOW), source=MID,
            )
        )  # fmt: skip
    await inbox.deleted(ME.kith_id, MID)

    for member in members:  # each member's lane runs its deletion
        await files.settle(member)
    assert not vault.exists(MID)  # the shared copy went with the last transfer
    assert await files.for_contact(BOB.kith_id) == []
    assert await files.for_contact("someone-else") == []


async def test_deleting_a_members_file_message_deletes_our_transfer(tmp_path: Path) -> None:
    files, inbox = _transfers(tmp_path)
    await inbox.incoming(BOB.kith_id, _post())
    await inbox.deleted(BOB.kith_id, MID)
    await files.settle(BOB.kith_id)
    assert await files.for_contact(BOB.kith_id) == []
